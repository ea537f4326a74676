"""REINFORCE with per-token returns-to-go and a group baseline over k samples per prompt (RLOO or GRPO).

``A_t^i = G_t^i - b_t^i`` where ``G_t = sum_{s >= t} gamma^(s - t) r_s``, ``r_s`` = instant reward -
beta * kl_s, and the baseline ``b_t^i`` is, at the same position ``t``, the mean return of the other
completions of the prompt (``rloo``, the default) or of all of them (``grpo``, optionally divided by
their std). With terminal rewards and gamma = 1 this is RLOO (Ahmadian et al. 2024) or GRPO; with
instant rewards each token is credited only with what follows it. ``baseline_per_source`` takes the
baseline of each reward source (and of the KL penalty) separately, as PRIME does. No critic: memory is
the policy alone. With ``num_epochs > 1`` the ratio is clipped as in PPO.
"""

from __future__ import annotations

import torch

from rlreward.rl.advantages import masked_whiten
from rlreward.trainers.base import RLTrainer
from rlreward.trainers.batch import UpdateBatch
from rlreward.trainers.config import ReinforceConfig
from rlreward.trainers.rollout import Rollout


class ReinforceTrainer(RLTrainer):
    """REINFORCE / RLOO / GRPO over per-token rewards, LoRA and Accelerate."""

    config: ReinforceConfig

    def compute_advantages(
        self, rollout: Rollout, rewards: torch.Tensor, sources: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        advantages = self.group_advantages(rollout, rewards, sources)
        if self.config.normalize_advantages:
            mask = rollout.completion_mask
            advantages = masked_whiten(advantages, mask, distributed=self.accelerator.num_processes > 1)
        return {"advantages": advantages}

    def compute_loss(self, batch: UpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        policy, _ = self.policy_loss(batch)
        return policy.loss, {
            "losses/policy": policy.loss.detach(),
            "losses/clipfrac": policy.clipfrac,
            "losses/approx_kl": policy.approx_kl,
        }
