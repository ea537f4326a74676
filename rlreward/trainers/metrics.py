"""Step metrics over all processes: the reductions, and the rollout's rewards, KL, entropy and lengths."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from accelerate import Accelerator

from rlreward.rl.advantages import masked_mean
from rlreward.trainers.rollout import Rollout
from rlreward.trainers.scoring import ends_with_eos


class Reduce:
    """Sums and means over processes of per-process values (each process calls them in the same order)."""

    def __init__(self, accelerator: Accelerator):
        self.accelerator = accelerator

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """Sum of a per-process scalar, as a scalar tensor on this device."""
        return self.vector_sum(value.reshape(1)).squeeze(0)

    def vector_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum of a per-process ``(n,)`` vector (one all-reduce)."""
        values = values.detach().float().reshape(-1).to(self.accelerator.device)
        return self.accelerator.reduce(values, reduction="sum")

    def mean(self, value: torch.Tensor) -> float:
        """Mean of a per-process scalar."""
        value = value.detach().float().reshape(1).to(self.accelerator.device)
        return float(self.accelerator.reduce(value, reduction="mean"))


def rollout_metrics(
    rollout: Rollout, kl: torch.Tensor, eos_token_ids: Sequence[int], reduce: Reduce
) -> dict[str, float]:
    """``rewards/*``, ``objective/kl`` and ``objective/entropy``, ``completions/*`` of a scored rollout.

    Args:
        kl: ``(b, t)`` per-token KL estimates, zero on padding.
    """
    mask = rollout.completion_mask.float()
    scores = reduce.accelerator.gather(rollout.scores.float())
    stopped = ends_with_eos(rollout.completion_ids, rollout.completion_mask, eos_token_ids)
    return {
        "rewards/mean": float(scores.mean()),
        "rewards/std": float(scores.std(unbiased=False)),
        "rewards/token_mean": float(
            reduce.sum((rollout.token_rewards * mask).sum()) / reduce.sum(mask.sum())
        ),
        "objective/kl": reduce.mean(kl.sum(1).mean()),
        "objective/entropy": reduce.mean(masked_mean(rollout.entropy, mask)),
        "completions/mean_length": reduce.mean(mask.sum(1).mean()),
        "completions/eos_rate": reduce.mean(stopped.float().mean()),
        **{f"rewards/{k}": reduce.mean(v.float().nanmean()) for k, v in rollout.components.items()},
    }
