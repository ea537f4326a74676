"""The one reward interface of rlreward.

A reward is anything callable as ``reward(prompts=..., completions=..., completion_ids=..., **kwargs)``:
TRL's ``reward_funcs`` convention. Two kinds exist:

* a plain TRL reward function returning ``list[float | None]`` (one score per completion);
* an :class:`InstantReward`, whose :meth:`InstantReward.score` returns a :class:`RewardOutput` with
  sequence scores and, when the reward knows per-token credit, per-token ("instant") rewards.
  Calling an ``InstantReward`` returns the sequence scores as a list, so it can be handed to TRL's
  ``RLOOTrainer`` / ``GRPOTrainer`` unchanged.

:func:`as_instant` turns either kind into an ``InstantReward``; trainers only ever see that.

Alignment contract: ``RewardOutput.tokens[i, j]`` is the reward for ``completion_ids[i][j]``, the
policy's own completion token, and is zero for ``j >= len(completion_ids[i])`` (padding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

# TRL passes these to reward functions; they are not per-sample columns.
TRL_CONTEXT_KWARGS = ("trainer_state", "log_extra", "log_metric")


@dataclass
class RewardOutput:
    """What a reward returns for a batch of ``b`` completions.

    Attributes:
        sequence: ``(b,)`` float32, one score per completion.
        tokens: ``(b, t)`` float32 per-token rewards aligned to the policy's completion tokens
            (``t = max(len(ids) for ids in completion_ids)``), zero on padding; ``None`` when the
            reward only knows sequence scores (the trainer then densifies them).
        components: named ``(b,)`` sub-scores, logged as ``rewards/<name>``.
        token_components: named ``(b, t)`` per-token rewards of each source of ``tokens`` (the
            weighted parts of a :class:`~rlreward.rewards.CombinedReward`), summing to ``tokens``;
            empty when the reward is a single source. Trainers use them for per-source baselines.

    A ``NaN`` sequence score (TRL's ``None``) means the reward *abstains* for that sample: it has no
    opinion, and its per-token rewards on that row are zero. :class:`~rlreward.rewards.CombinedReward`
    sums the rewards that did not abstain; a reward used alone must score every sample.
    """

    sequence: torch.Tensor
    tokens: torch.Tensor | None = None
    components: dict[str, torch.Tensor] = field(default_factory=dict)
    token_components: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.sequence.shape[0]


@runtime_checkable
class Reward(Protocol):
    """Anything TRL accepts as a reward function."""

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]],
        **kwargs: Any,
    ) -> list[float | None]: ...


class RewardError(ValueError):
    """A reward produced something that cannot be trained on; the message names the reward and sample."""


def completion_text(completion: Any) -> str:
    """The text of a completion, plain (``str``) or conversational (a list of messages)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m["content"] if isinstance(m, dict) else str(m) for m in completion)
    if isinstance(completion, dict) and "content" in completion:
        return completion["content"]
    raise TypeError(
        f"A completion must be a string or a list of chat messages, got {type(completion).__name__}."
    )


def prompt_text(prompt: Any) -> str:
    """The text of a prompt, plain or conversational (messages joined by newlines)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\n".join(m["content"] if isinstance(m, dict) else str(m) for m in prompt)
    raise TypeError(f"A prompt must be a string or a list of chat messages, got {type(prompt).__name__}.")


def pad_token_rewards(rows: Sequence[Sequence[float]], lengths: Sequence[int]) -> torch.Tensor:
    """Right-pad ragged per-token rewards into ``(b, max(lengths))`` float32, zero beyond each length."""
    width = max(lengths, default=0)
    out = torch.zeros(len(rows), width, dtype=torch.float32)
    for i, (row, n) in enumerate(zip(rows, lengths)):
        if len(row) != n:
            raise ValueError(f"Sample {i}: {len(row)} per-token rewards for {n} completion tokens.")
        if n:
            out[i, :n] = torch.as_tensor(row, dtype=torch.float32)
    return out


def token_lengths(completion_ids: Sequence[Sequence[int]]) -> list[int]:
    return [len(ids) for ids in completion_ids]


class MissingCompletionIds(Sequence[int]):
    """Stands in for a completion's token ids when a reward is called without them.

    ``reward(prompts=..., completions=...)`` asks for sequence scores only. A reward that scores text
    does not need the ids; one that reads them must get the real ones, not made-up ones, so reading a
    token id from this placeholder raises a :class:`RewardError` that says so. Its length is the
    text's length in characters (at least 1): shapes of per-token outputs still validate, but no
    reward should take it for a token count.
    """

    def __init__(self, completion: Any, reward_name: str):
        self._len = max(1, len(completion_text(completion)))
        self._reward_name = reward_name

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        raise RewardError(
            f"Reward '{self._reward_name}' reads the policy's completion token ids, but was called "
            "without them; pass completion_ids=... (TRL's trainers and rlreward's do)."
        )

    def __repr__(self) -> str:
        return f"MissingCompletionIds(len={self._len})"


def ids_are_missing(completion_ids: Sequence[Sequence[int]]) -> bool:
    """True when ``completion_ids`` are :class:`MissingCompletionIds` placeholders."""
    return any(isinstance(ids, MissingCompletionIds) for ids in completion_ids)


class InstantReward:
    """Base class for rewards that may return per-token rewards.

    Subclasses implement :meth:`score`. Calling the object returns sequence scores as a list of
    floats (TRL's convention), so every ``InstantReward`` is also a valid TRL reward function.
    Instances are plain Python objects (never ``nn.Module``: TRL would mistake them for a
    classifier) and picklable when their members are.
    """

    #: Name used in logs and error messages.
    name: str = "reward"
    #: How this reward computes per-token rewards itself ("prefix_delta", "attention", "syntax",
    #: "native": :data:`rlreward.rewards.text.PerTokenMode`, one table in that module's docstring);
    #: ``None`` when it returns sequence scores only and the trainer densifies them.
    per_token: str | None = None
    #: While frozen, a reward with running statistics (:class:`~rlreward.rewards.NormalizedReward`)
    #: uses them but does not update them: trainers freeze the reward during evaluation.
    frozen: bool = False

    def score(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]],
        **kwargs: Any,
    ) -> RewardOutput:
        raise NotImplementedError

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float]:
        if completion_ids is None:  # sequence scores from the text; reading an id is an error
            completion_ids = [MissingCompletionIds(c, self.name) for c in completions]
        out = self.score(prompts, completions, completion_ids, **kwargs)
        return out.sequence.tolist()

    # ---------------------------------------------------------------- state
    def children(self) -> list[InstantReward]:
        """The rewards this one wraps (a wrapper's inner reward, a combination's parts); ``[]`` for a leaf.

        :meth:`state_dict`, :meth:`load_state_dict` and :meth:`freeze` reach through them, so a trainer
        finds the state of a reward however it was wrapped (densified, combined, normalised).
        """
        return []

    def required_columns(self) -> list[str]:
        """Dataset columns this reward reads (here and in the rewards it wraps): trainers check them
        against the training data when they start, not at the first reward call."""
        return [c for child in self.children() for c in child.required_columns()]

    def state_dict(self) -> dict[str, Any]:
        """What training changes in this reward and the rewards it wraps (for checkpoints); ``{}`` if nothing."""
        return {str(i): s for i, child in enumerate(self.children()) if (s := child.state_dict())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        children = self.children()
        for key, value in state.items():
            if not key.isdigit() or int(key) >= len(children):
                raise ValueError(
                    f"Reward '{self.name}' has no state '{key}'; the checkpoint was written with a "
                    "different reward. Resume with the same rewards."
                )
            children[int(key)].load_state_dict(value)

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or resume) updating running statistics, here and in the wrapped rewards."""
        self.frozen = frozen
        for child in self.children():
            child.freeze(frozen)

    @property
    def __name__(self) -> str:  # TRL names reward functions by __name__ in its logs.
        return self.name


class FunctionReward(InstantReward):
    """Adapts a TRL-style reward function (``list[float | None]``) to an :class:`InstantReward`.

    ``None`` (TRL's "not applicable to this sample") becomes NaN: the reward abstains for that sample,
    and :class:`~rlreward.rewards.CombinedReward` sums the others, like TRL's ``nansum``; a lone reward
    must not return ``None``. Called without ``completion_ids``, the function gets ``None`` for them.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        values = self.fn(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        if isinstance(values, RewardOutput):
            return values
        if isinstance(values, torch.Tensor):
            values = values.tolist()
        try:
            values = list(values)
        except TypeError as err:
            raise RewardError(
                f"Reward '{self.name}' returned {type(values).__name__}; it must return a list of floats, "
                "one per completion."
            ) from err
        if len(values) != len(completions):
            raise RewardError(
                f"Reward '{self.name}' returned {len(values)} scores for {len(completions)} completions; "
                "it must return exactly one score per completion."
            )
        seq = [math.nan if v is None else float(v) for v in values]
        return RewardOutput(sequence=torch.tensor(seq, dtype=torch.float32))

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float | None]:
        # TRL's convention, as the function itself defines it: no made-up ids, None stays None.
        values = self.score(prompts, completions, completion_ids, **kwargs).sequence.tolist()
        return [None if math.isnan(v) else v for v in values]


def as_instant(reward: Any) -> InstantReward:
    """Wrap any reward (InstantReward, TRL function, callable object) as an :class:`InstantReward`."""
    if isinstance(reward, InstantReward):
        return reward
    if isinstance(reward, torch.nn.Module):
        raise TypeError(
            f"Got a bare {type(reward).__name__} as a reward; wrap a sequence classifier in "
            "rlreward.rewards.ClassifierReward(model, tokenizer) so it knows how to tokenize."
        )
    if callable(reward):
        return FunctionReward(reward)
    raise TypeError(f"A reward must be callable, got {type(reward).__name__}.")


def check_output(
    out: RewardOutput,
    name: str,
    completions: Sequence[Any],
    completion_ids: Sequence[Sequence[int]],
    allow_nan: bool = False,
) -> RewardOutput:
    """Validate a reward's output against its inputs; raise :class:`RewardError` naming the first bad sample.

    Args:
        allow_nan: NaN sequence scores (TRL's ``None``: the reward abstains for that sample) are
            allowed, e.g. for the parts of a :class:`~rlreward.rewards.CombinedReward`; the per-token
            rewards of an abstaining row are not checked (they are ignored).
    """
    b = len(completions)
    if not isinstance(out, RewardOutput):
        raise RewardError(f"Reward '{name}' returned {type(out).__name__}, expected a RewardOutput.")
    if out.sequence.ndim != 1 or out.sequence.shape[0] != b:
        raise RewardError(
            f"Reward '{name}' returned {tuple(out.sequence.shape)} sequence scores for {b} completions; "
            "it must return exactly one score per completion."
        )
    abstains = torch.isnan(out.sequence)
    bad = ~torch.isfinite(out.sequence)
    if allow_nan:
        bad &= ~abstains
    if bad.any():
        i = int(bad.nonzero()[0, 0])
        hint = (
            " (None/NaN means the reward abstains for a sample: only a part of a CombinedReward may "
            "abstain, where the other rewards score the sample)"
            if abstains[i]
            else ""
        )
        raise RewardError(
            f"Reward '{name}' returned a non-finite score ({out.sequence[i].item()}) for sample {i}: "
            f"{completion_text(completions[i])[:200]!r}{hint}."
        )
    width = max(token_lengths(completion_ids), default=0)
    for label, tokens in [("per-token rewards", out.tokens)] + [
        (f"per-token rewards '{k}'", v) for k, v in out.token_components.items()
    ]:
        if tokens is None:
            continue
        if tokens.shape != (b, width):
            raise RewardError(
                f"Reward '{name}' returned {label} of shape {tuple(tokens.shape)}; expected "
                f"({b}, {width}) aligned to the policy's completion tokens."
            )
        bad_rows = ~torch.isfinite(tokens).all(dim=1) & ~(
            abstains if allow_nan else torch.zeros_like(abstains)
        )
        if bad_rows.any():
            i = int(bad_rows.nonzero()[0, 0])
            raise RewardError(
                f"Reward '{name}' returned non-finite {label} for sample {i}: "
                f"{completion_text(completions[i])[:200]!r}."
            )
    for key, value in out.components.items():
        if value.shape != (b,):
            raise RewardError(
                f"Reward '{name}' component '{key}' has shape {tuple(value.shape)}, expected ({b},)."
            )
    return out


def evaluate_reward(
    reward: InstantReward,
    prompts: Sequence[Any],
    completions: Sequence[Any],
    completion_ids: Sequence[Sequence[int]],
    **kwargs: Any,
) -> RewardOutput:
    """Call ``reward.score`` and validate the result; errors name the reward and the first bad sample."""
    if not (len(prompts) == len(completions) == len(completion_ids)):
        raise ValueError(
            f"prompts ({len(prompts)}), completions ({len(completions)}) and completion_ids "
            f"({len(completion_ids)}) must have the same length."
        )
    return check_output(
        call_score(reward, prompts, completions, completion_ids, **kwargs),
        reward.name,
        completions,
        completion_ids,
    )


def call_score(reward: InstantReward, prompts, completions, completion_ids, **kwargs: Any) -> RewardOutput:
    """``reward.score(...)``, with any exception re-raised as a :class:`RewardError` naming the reward."""
    try:
        return reward.score(prompts, completions, completion_ids, **kwargs)
    except RewardError:
        raise
    except Exception as err:
        raise RewardError(
            f"Reward '{reward.name}' raised {type(err).__name__}: {err} (first completion: "
            f"{completion_text(completions[0])[:120]!r})."
        ) from err
