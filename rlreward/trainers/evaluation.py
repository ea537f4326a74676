"""Held-out evaluation records: one row per prompt, and the metrics over the rows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rlreward.trainers.rollout import Rollout


@dataclass
class EvalResult:
    """Held-out evaluation: aggregate metrics and one row per prompt."""

    metrics: dict[str, float]
    rows: list[dict[str, Any]]


def evaluation_rows(rollout: Rollout, data: dict[str, Any], rows: list[int]) -> list[dict[str, Any]]:
    """One record per scored completion of ``rollout``: prompt, completion, reward, ``kl`` (summed
    ``log pi - log pi_ref``), ``ref_nll`` (summed), token count, and the dataset's other columns."""
    mask = rollout.completion_mask.float()
    kl = ((rollout.logprobs - rollout.ref_logprobs) * mask).sum(1)
    ref_nll = -(rollout.ref_logprobs * mask).sum(1)
    return [
        {
            "index": r,
            "prompt": data["prompts"][r],
            "completion": rollout.completions[i],
            "reward": float(rollout.scores[i]),
            "kl": float(kl[i]),
            "ref_nll": float(ref_nll[i]),
            "tokens": int(mask[i].sum()),
            **{k: v[r] for k, v in data["extra"].items()},
        }
        for i, r in enumerate(rows)
    ]


def evaluation_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``eval/reward`` and ``eval/kl`` (means over prompts), ``eval/ref_perplexity`` (per token), ``eval/mean_length``."""
    n, tokens = len(rows), sum(row["tokens"] for row in rows)
    return {
        "eval/reward": sum(row["reward"] for row in rows) / n,
        "eval/kl": sum(row["kl"] for row in rows) / n,
        "eval/ref_perplexity": math.exp(sum(row["ref_nll"] for row in rows) / max(tokens, 1)),
        "eval/mean_length": tokens / n,
    }
