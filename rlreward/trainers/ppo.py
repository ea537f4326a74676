"""PPO over per-token rewards: GAE with a value head on the policy's own backbone, or a group baseline.

Differences from TRL's removed ``PPOTrainer``: rewards are per token (a reward's instant rewards or a
densified sequence score), the critic shares the policy backbone (one model in memory, reference
included), and sampling is seeded per completion. With ``advantage_estimator="rloo"`` or ``"grpo"``
there is no critic at all: the baseline of each token is the return the prompt's other
``num_generations`` completions earned from the same position (see ``RLTrainer.group_advantages``),
and PPO keeps its clipped ratio over ``num_epochs``.
"""

from __future__ import annotations

import torch

from rlreward.rl.advantages import gae, masked_whiten
from rlreward.rl.losses import clipped_value_loss
from rlreward.trainers.base import RLTrainer
from rlreward.trainers.batch import UpdateBatch
from rlreward.trainers.config import PPOConfig
from rlreward.trainers.rollout import Rollout


class PPOTrainer(RLTrainer):
    """PPO (Schulman et al. 2017) with per-token rewards, LoRA, and Accelerate.

    Example:
        >>> trainer = PPOTrainer("smollm2-135m-instruct", reward, dataset, PPOConfig(max_steps=50))  # doctest: +SKIP
        >>> trainer.train()  # doctest: +SKIP
    """

    config: PPOConfig

    def _param_groups(self, value_learning_rate: float | None = None) -> list[dict]:
        return super()._param_groups(self.config.value_learning_rate)

    def compute_advantages(
        self, rollout: Rollout, rewards: torch.Tensor, sources: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        c, mask = self.config, rollout.completion_mask
        distributed = self.accelerator.num_processes > 1
        if c.advantage_estimator != "gae":
            advantages = self.group_advantages(rollout, rewards, sources)
            if c.whiten_advantages:
                advantages = masked_whiten(advantages, mask, distributed=distributed)
            return {"advantages": advantages}
        if c.whiten_rewards:
            rewards = masked_whiten(rewards, mask, shift_mean=False, distributed=distributed)
        advantages, returns = gae(rewards, rollout.values, mask, c.gamma, c.lam)
        if c.whiten_advantages:
            advantages = masked_whiten(advantages, mask, distributed=distributed)
        return {"advantages": advantages, "returns": returns}

    def compute_loss(self, batch: UpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        policy, values = self.policy_loss(batch)
        stats = {
            "losses/policy": policy.loss.detach(),
            "losses/clipfrac": policy.clipfrac,
            "losses/approx_kl": policy.approx_kl,
        }
        if values is None:  # rloo / grpo: no critic
            return policy.loss, stats
        value = clipped_value_loss(
            values, batch.old_values, batch.returns, batch.mask, c.clip_range_value, batch.num_tokens
        )
        stats.update({"losses/value": value.loss.detach(), "losses/value_clipfrac": value.clipfrac})
        return policy.loss + c.vf_coef * value.loss, stats
