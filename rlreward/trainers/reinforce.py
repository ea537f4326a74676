"""REINFORCE with per-token returns-to-go and a leave-one-out baseline (RLOO) over k samples per prompt.

``A_t^i = G_t^i - mean_{j != i} G_t^j`` where ``G_t = sum_{s >= t} gamma^(s - t) r_s`` and
``r_s`` = instant reward - beta * kl_s. With terminal rewards and gamma = 1 this is RLOO
(Ahmadian et al. 2024); with instant rewards each token is credited only with what follows it.
No critic: memory is the policy alone. With ``num_epochs > 1`` the ratio is clipped as in PPO.
"""

from __future__ import annotations

import torch

from rlreward.rl.advantages import discounted_returns, leave_one_out_baseline, masked_whiten
from rlreward.trainers.base import RLTrainer
from rlreward.trainers.config import ReinforceConfig
from rlreward.trainers.rollout import Rollout


class ReinforceTrainer(RLTrainer):
    """REINFORCE / RLOO over per-token rewards, LoRA and Accelerate."""

    config: ReinforceConfig

    @property
    def samples_per_prompt(self) -> int:
        return self.config.num_generations

    def compute_advantages(self, rollout: Rollout, rewards: torch.Tensor) -> dict[str, torch.Tensor]:
        c, mask = self.config, rollout.completion_mask
        returns = discounted_returns(rewards, mask, c.gamma)
        advantages = returns - leave_one_out_baseline(returns, mask, c.num_generations)
        if c.normalize_advantages:
            advantages = masked_whiten(advantages, mask, distributed=self.accelerator.num_processes > 1)
        return {"advantages": advantages}

    def compute_loss(self, batch):
        policy, _ = self.policy_loss(batch)
        return policy.loss, {
            "losses/policy": policy.loss.detach(),
            "losses/clipfrac": policy.clipfrac,
            "losses/approx_kl": policy.approx_kl,
        }
