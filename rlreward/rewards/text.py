"""The base of rewards computed from completion text, and the helpers every reward shares.

* :func:`resolve_decode`: the policy's ``ids -> text`` function from ``tokenizer=`` or ``decode=``;
* :func:`read_column`: a per-sample dataset column from a reward call's kwargs, checked, with one
  :class:`~rlreward.rewards.base.RewardError` sentence naming the reward and the column;
* :class:`TextReward`: subclasses score texts (:meth:`TextReward.score_texts`); per-token credit by
  prefix differences, ``r_j = phi(y_<=j) - phi(y_<j)``, comes for free.

Per-token modes of the built-in rewards (``reward.per_token``; ``None`` means sequence scores only,
densified by the trainer's ``densify`` strategy):

| mode | rewards | where the credit goes |
|---|---|---|
| ``"prefix_delta"`` | every :class:`TextReward` (VADER, chrF, BLEU, EM, F1, ``evaluate`` metrics), ``ClassifierReward`` | ``phi(y_<=j) - phi(y_<j)``: the change in score as token ``j`` is added |
| ``"attention"`` | ``ClassifierReward`` | the score split by the classifier's attention to each token |
| ``"syntax"`` | ``UnitTestReward`` | ``w/L`` on the token completing each valid line, the test share on the last token |
| ``"native"`` | ``LengthPenalty``, ``RepetitionPenalty``, your own | the reward's own per-token values |
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch

from rlreward.rewards.base import (
    TRL_CONTEXT_KWARGS,
    InstantReward,
    RewardError,
    RewardOutput,
    completion_text,
)
from rlreward.rewards.shaping import PrefixDeltaReward

PerTokenMode = Literal["prefix_delta", "attention", "syntax", "native"] | None
"""What ``reward.per_token`` may hold (see the table above)."""


def resolve_decode(
    tokenizer: Any = None, decode: Callable[[list[int]], str] | None = None
) -> Callable | None:
    """The policy's ``ids -> text`` function: ``decode`` if given, else ``tokenizer.decode`` without
    special tokens (a picklable ``functools.partial``), else ``None``."""
    if decode is not None and tokenizer is not None:
        raise ValueError("Give either tokenizer= or decode=, not both.")
    if decode is not None:
        return decode
    if tokenizer is not None:
        if not hasattr(tokenizer, "decode"):
            raise TypeError(
                f"tokenizer= must have a .decode(ids, skip_special_tokens=True) method, got {tokenizer!r}."
            )
        return functools.partial(tokenizer.decode, skip_special_tokens=True)
    return None


def read_column(kwargs: dict[str, Any], column: str, n: int, reward: str) -> list[Any]:
    """The per-sample dataset column ``column`` from a reward call's kwargs, checked to have ``n`` entries."""
    if column not in kwargs:
        passed = sorted(k for k in kwargs if k not in TRL_CONTEXT_KWARGS)
        raise RewardError(
            f"Reward '{reward}' needs the dataset column '{column}', but the columns passed were "
            f"{passed or 'none'}. Add '{column}' to the dataset (TRL passes every dataset column to reward "
            f"functions) or point the reward at another column."
        )
    values = kwargs[column]
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != n:
        count = len(values) if isinstance(values, Sequence) and not isinstance(values, str) else "not a list"
        raise RewardError(
            f"Reward '{reward}': column '{column}' must hold one entry per completion ({n}), got {count}."
        )
    return list(values)


class _SequenceScores(InstantReward):
    """A :class:`TextReward` seen as a sequence-only reward, for :class:`PrefixDeltaReward` to re-score."""

    def __init__(self, reward: TextReward):
        self.reward = reward
        self.name = reward.name

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        return self.reward.sequence_output(prompts, completions, **kwargs)


class TextReward(InstantReward):
    """Base class for rewards computed from the completion text, per-token by prefix differences.

    Subclasses implement :meth:`score_texts`. With ``per_token="prefix_delta"`` every prefix of each
    completion is decoded with the policy tokenizer, prefixes that decode to the same text are scored
    once (:class:`~rlreward.rewards.shaping.PrefixDeltaReward`), and ``r_j = phi(y_<=j) - phi(y_<j)``.

    Args:
        tokenizer: the policy tokenizer (anything with ``decode(ids, skip_special_tokens=True)``).
        decode: instead of ``tokenizer``, an ``ids -> text`` function.
        per_token: ``"prefix_delta"``, ``None`` (sequence scores only; the trainer densifies them), or
            ``"auto"``: ``"prefix_delta"`` when a tokenizer or decode is given, else ``None``.
        stride: score every ``stride``-th prefix (and always the last); skipped credit lands on the next.
    """

    #: dataset columns the reward reads, checked before any scoring.
    columns: tuple[str, ...] = ()

    def __init__(
        self,
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        per_token: str | None = "auto",
        stride: int = 1,
    ):
        self.decode = resolve_decode(tokenizer, decode)
        if per_token == "auto":
            per_token = "prefix_delta" if self.decode is not None else None
        if per_token not in ("prefix_delta", None):
            raise ValueError(
                f"{type(self).__name__}: per_token must be 'prefix_delta', None or 'auto', got {per_token!r}."
            )
        if per_token == "prefix_delta" and self.decode is None:
            raise ValueError(
                f"{type(self).__name__}(per_token='prefix_delta') needs the policy tokenizer to decode token "
                "prefixes: pass tokenizer=<policy tokenizer> or decode=<ids -> text>."
            )
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}.")
        self.per_token = per_token
        self.stride = stride

    def score_texts(
        self, prompts: list[Any], texts: list[str], **kwargs: Any
    ) -> tuple[list[float], dict[str, list[float]]]:
        """Scores of completion ``texts`` (and their named components), one per text.

        ``prompts`` are as given (plain or conversational); ``kwargs`` hold the per-sample columns.
        """
        raise NotImplementedError

    def sequence_output(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> RewardOutput:
        """Sequence scores only (no per-token rewards)."""
        texts = [completion_text(c) for c in completions]
        scores, components = self.score_texts(list(prompts), texts, **kwargs)
        return RewardOutput(
            sequence=torch.tensor(scores, dtype=torch.float32),
            components={k: torch.tensor(v, dtype=torch.float32) for k, v in components.items()},
        )

    def required_columns(self) -> list[str]:
        return list(self.columns)

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        n = len(completions)
        for column in self.columns:
            read_column(kwargs, column, n, self.name)
        if self.per_token != "prefix_delta":
            return self.sequence_output(prompts, completions, **kwargs)
        # PrefixDeltaReward spreads list columns over the prefixes; give it lists.
        kwargs = {k: list(v) if isinstance(v, tuple) and len(v) == n else v for k, v in kwargs.items()}
        prefixes = PrefixDeltaReward(_SequenceScores(self), self.decode, self.stride)
        return prefixes.score(prompts, completions, completion_ids, **kwargs)
