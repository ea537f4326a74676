"""Scoring a rollout with the reward: sequence scores, per-token rewards, and the rewards by source."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rlreward.rewards.base import InstantReward, evaluate_reward
from rlreward.trainers.rollout import Rollout


def ends_with_eos(
    completion_ids: torch.Tensor, completion_mask: torch.Tensor, eos_token_ids: Sequence[int]
) -> torch.Tensor:
    """``(b,)`` bool: the completion's last real token is an EOS (it stopped, rather than hit the limit).

    An EOS in the last column counts as stopped; an empty completion does not.
    """
    lengths = completion_mask.sum(1)
    last = completion_ids.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
    eos = torch.tensor(list(eos_token_ids), device=completion_ids.device)
    return torch.isin(last, eos) & (lengths > 0)


def score_rollout(
    reward: InstantReward,
    rollout: Rollout,
    eos_token_ids: Sequence[int],
    missing_eos_penalty: float | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, torch.Tensor]:
    """Fill ``rollout.scores`` ``(b,)``, ``rollout.token_rewards`` ``(b, t)`` and ``rollout.components``
    from ``reward`` (validated; errors name the reward and the sample).

    ``missing_eos_penalty`` is subtracted from the score, and from the last token's reward, of each
    completion that hit the length limit without EOS.

    Returns:
        the per-token rewards by source, ``(b, t)`` each, summing to ``rollout.token_rewards``: one per
        part of a combined reward (``RewardOutput.token_components``; else ``"reward"``), and
        ``"missing_eos_penalty"`` when it applies.
    """
    out = evaluate_reward(
        reward, rollout.prompts, rollout.completions, rollout.completion_id_lists(), **rollout.extra
    )
    t = rollout.completion_ids.shape[1]

    def aligned(per_token: torch.Tensor) -> torch.Tensor:  # (b, t) on the rollout's width
        full = torch.zeros(len(out), t)
        full[:, : per_token.shape[1]] = per_token[:, :t]
        return full

    tokens = aligned(out.tokens)
    sources = {k: aligned(v) for k, v in out.token_components.items()} or {"reward": tokens.clone()}
    scores = out.sequence.clone()
    if missing_eos_penalty is not None:
        ids, mask = rollout.completion_ids.cpu(), rollout.completion_mask.cpu()
        missing = ~ends_with_eos(ids, mask, eos_token_ids)
        scores[missing] -= missing_eos_penalty
        last = (rollout.lengths.cpu() - 1).clamp(min=0)
        tokens[missing, last[missing]] -= missing_eos_penalty
        sources["missing_eos_penalty"] = tokens - sum(sources.values())
    rollout.scores = scores.to(device)
    rollout.token_rewards = tokens.to(device)
    rollout.components = {k: v.to(device) for k, v in out.components.items()}
    return {k: v.to(device) for k, v in sources.items()}
