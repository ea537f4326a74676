"""Process rewards: credit for each step of a solution, not only for its final answer.

A *checker* reads one completion and says where its steps are, which of them are right, and whether
the final answer is right: a :class:`StepCheck`. Two rewards turn it into per-token rewards aligned to
the policy's completion tokens (the contract of :class:`~rlreward.rewards.base.RewardOutput`):

* :class:`OutcomeReward`: ``R = 1`` if the answer is right, else ``0``, placed on the last
  completion token (``r_{T-1} = R``, every other ``r_t = 0``).
* :class:`CheckerStepReward` (a rule-based process reward model): for a problem of ``S`` steps, the
  first ``S`` step lines are judged; line ``k`` gets ``+1/S`` if the checker labels it correct and
  ``wrong/S`` (default ``-1/S``) if not, on the token that completes the line (the first token whose
  decoded prefix reaches the line's last character). Later lines get nothing. So with ``C`` correct
  and ``W`` wrong judged lines (``C + W <= S``)

      sum_t r_t = (C + wrong * W) / S  in  [wrong, 1],

  which is the sequence score. With first-error labels (every step after the first wrong one is
  wrong, as the arithmetic checker gives) the correct lines are a prefix, and a solution with every
  step right scores exactly 1.

The task's default reward is ``outcome x 1 + steps x 0.5`` (``rlreward/tasks/arithmetic.py``): a
completion with every step and the answer right gets 1.5, one that reaches the right answer through
a wrong step gets at most ``1 + 0.5 * (S - 2) / S``.

A checker is any callable ``checker(completion: str, row: dict) -> StepCheck``; ``row`` holds the
sample's dataset columns (the problem, its answer...). Bring your own: see ``docs/process_rewards.md``.

Example:
    >>> from rlreward.tasks.arithmetic import ArithmeticChecker
    >>> reward = CheckerStepReward(ArithmeticChecker(), decode=lambda ids: "".join(map(chr, ids)))
    >>> text = "4 + 5 = 9\\n9 - 2 = 6\\nAnswer: 6"
    >>> out = reward.score([""], [text], [[ord(c) for c in text]], problem=["4 + 5 - 2"])
    >>> out.sequence.tolist()  # one right step, one wrong: (1 - 1) / 2
    [0.0]
    >>> [round(v, 2) for v in out.tokens[0].tolist() if v]  # at the '9' ending line 1 and the '6' ending line 2
    [0.5, -0.5]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rlreward.rewards.base import (
    TRL_CONTEXT_KWARGS,
    InstantReward,
    RewardOutput,
    completion_text,
    ids_are_missing,
    pad_token_rewards,
    token_lengths,
)


@dataclass
class StepCheck:
    """What a checker found in one completion.

    Attributes:
        lines: ``(start, end, correct)`` for each step, in order: character offsets into the completion
            (``end`` just past the step's last non-space character) and the checker's label.
        correct: whether the final answer is right (the outcome).
        num_steps: ``S``, the number of steps a full solution has; None when the checker does not know
            (then every step found counts, ``S = len(lines)``).
        answer: the final answer as the completion states it, or None when it states none.
    """

    lines: list[tuple[int, int, bool]]
    correct: bool
    num_steps: int | None = None
    answer: Any = None

    @property
    def labels(self) -> list[bool]:
        return [ok for _, _, ok in self.lines]

    @property
    def judged(self) -> int:
        """``S``: how many steps are judged (the first ``S`` lines)."""
        return self.num_steps if self.num_steps is not None else len(self.lines)

    @property
    def correct_prefix(self) -> int:
        """Steps right before the first wrong one, at most ``S``."""
        count = 0
        for ok in self.labels[: self.judged]:
            if not ok:
                break
            count += 1
        return count


Checker = Callable[[str, Mapping[str, Any]], StepCheck]
"""``(completion text, the sample's dataset columns) -> StepCheck``."""


def step_values(check: StepCheck, wrong: float = -1.0) -> list[tuple[int, float]]:
    """``(end offset, reward)`` of each judged step: ``+1/S`` if right, ``wrong/S`` if not.

    Their sum is :class:`CheckerStepReward`'s sequence score, ``(C + wrong * W) / S``.
    """
    s = check.judged
    if s == 0:
        return []
    return [(end, (1.0 if ok else wrong) / s) for _, end, ok in check.lines[:s]]


def place_on_tokens(
    ids: Sequence[int], decode: Callable[[list[int]], str], credits: Sequence[tuple[int, float]]
) -> list[float]:
    """Per-token rewards of one completion: each ``(end, value)`` on the token that completes
    character ``end`` of the decoded text (the first token whose decoded prefix reaches it; past the
    end: the last token). Values landing on the same token add up, so the row sums to the values'
    sum whenever ``ids`` is not empty."""
    from rlreward.rewards.code import token_positions

    row = [0.0] * len(ids)
    if not ids or not credits:
        return row
    for j, (_, value) in zip(token_positions(ids, decode, [end for end, _ in credits]), credits):
        row[j] += value
    return row


def _rows(kwargs: Mapping[str, Any], b: int) -> list[dict[str, Any]]:
    """The per-sample dataset columns as one dict per sample."""
    columns = {
        k: v
        for k, v in kwargs.items()
        if k not in TRL_CONTEXT_KWARGS and isinstance(v, (list, tuple)) and len(v) == b
    }
    return [{k: v[i] for k, v in columns.items()} for i in range(b)]


def checker_columns(checker: Any) -> list[str]:
    """The dataset column a checker reads, where it names one (``ArithmeticChecker.column``)."""
    column = getattr(checker, "column", None)
    return [column] if isinstance(column, str) else []


class _CheckerReward(InstantReward):
    """Runs the checker on every completion; subclasses turn the checks into rewards."""

    def __init__(self, checker: Checker):
        if not callable(checker):
            raise TypeError(
                f"checker must be callable as checker(completion, row) -> StepCheck, got {type(checker).__name__}."
            )
        self.checker = checker
        self.last_checks: list[StepCheck] = []

    def required_columns(self) -> list[str]:
        return checker_columns(self.checker)

    def check(self, completions: Sequence[Any], kwargs: Mapping[str, Any]) -> list[StepCheck]:
        rows = _rows(kwargs, len(completions))
        checks = [self.checker(completion_text(c), row) for c, row in zip(completions, rows)]
        for i, check in enumerate(checks):
            if not isinstance(check, StepCheck):
                raise TypeError(
                    f"the checker returned {type(check).__name__} for sample {i}, not a StepCheck"
                )
        self.last_checks = checks
        return checks


class OutcomeReward(_CheckerReward):
    """``1`` when the checker says the final answer is right, else ``0``, on the last token.

    Args:
        checker: ``(completion, row) -> StepCheck``; only ``correct`` is read. Default: the arithmetic
            task's checker (the ``problem`` column).

    Components logged: ``accuracy``.
    """

    name = "outcome"
    per_token = "terminal"

    def __init__(self, checker: Checker | None = None):
        super().__init__(checker if checker is not None else _arithmetic_checker())

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        checks = self.check(completions, kwargs)
        values = [float(c.correct) for c in checks]
        lengths = token_lengths(completion_ids)
        rows = [[0.0] * (n - 1) + [v] if n else [] for v, n in zip(values, lengths)]
        sequence = torch.tensor([v if n else 0.0 for v, n in zip(values, lengths)], dtype=torch.float32)
        return RewardOutput(
            sequence=sequence,
            tokens=pad_token_rewards(rows, lengths),
            components={"accuracy": torch.tensor(values, dtype=torch.float32)},
        )


class CheckerStepReward(_CheckerReward):
    """A rule-based process reward: ``+1/S`` or ``wrong/S`` at the end of each of the first ``S`` steps.

    See the module docstring for the values and their sum. Needs the policy's ``decode`` (or its
    ``tokenizer``) to place credit on tokens; called without ``completion_ids`` it returns the
    sequence scores only.

    Args:
        checker: ``(completion, row) -> StepCheck``. Default: the arithmetic task's checker.
        tokenizer: the policy tokenizer (its ``decode`` without special tokens is used).
        decode: ``list[int] -> str``, instead of ``tokenizer``.
        wrong: the credit of a wrong step, times ``1/S`` (``-1``: symmetric; ``0``: positive only).

    Components logged: ``step_accuracy`` (``correct_prefix / S``: the share of the solution's steps
    right before the first error) and ``steps_found`` (step lines written).
    """

    name = "steps"
    per_token = "steps"

    def __init__(
        self,
        checker: Checker | None = None,
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        wrong: float = -1.0,
    ):
        super().__init__(checker if checker is not None else _arithmetic_checker())
        if decode is None and tokenizer is not None:
            decode = TokenizerDecode(tokenizer)
        if decode is None:
            raise ValueError(
                "CheckerStepReward places credit on the policy's tokens and needs its tokenizer: pass "
                "tokenizer=... or decode=...."
            )
        if wrong > 0:
            raise ValueError(f"wrong is the credit of a wrong step and must be <= 0, got {wrong}.")
        self.decode = decode
        self.wrong = float(wrong)

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        checks = self.check(completions, kwargs)
        credits = [step_values(c, self.wrong) for c in checks]
        lengths = token_lengths(completion_ids)
        sequence = torch.tensor(
            [sum(v for _, v in cr) if n else 0.0 for cr, n in zip(credits, lengths)], dtype=torch.float32
        )
        tokens = None
        if not ids_are_missing(completion_ids):
            rows = [place_on_tokens(ids, self.decode, cr) for ids, cr in zip(completion_ids, credits)]
            tokens = pad_token_rewards(rows, lengths)
        return RewardOutput(
            sequence=sequence,
            tokens=tokens,
            components={
                "step_accuracy": torch.tensor(
                    [c.correct_prefix / c.judged if c.judged else 0.0 for c in checks], dtype=torch.float32
                ),
                "steps_found": torch.tensor([len(c.lines) for c in checks], dtype=torch.float32),
            },
        )


Segmenter = Callable[[str, Mapping[str, Any]], list[tuple[int, int]]]
"""``(completion text, the sample's dataset columns) -> [(start, end), ...]``: where each step is."""

STEP_SEPARATOR = "\n"
"""How a solution's steps are joined into the text a process reward model scores."""


def line_steps(completion: str, row: Mapping[str, Any] | None = None) -> list[tuple[int, int]]:
    """Every non-empty line of ``completion`` as a step: ``(start, end)``, ``end`` past its last
    non-space character."""
    spans, offset = [], 0
    for line in completion.split("\n"):
        if line.strip():
            spans.append((offset, offset + len(line.rstrip())))
        offset += len(line) + 1
    return spans


class CheckerSteps:
    """Steps where a checker finds them (its first ``S`` step lines); its labels are not used. For a
    learned PRM on a task whose format a checker knows (arithmetic: lines with ``=``)."""

    def __init__(self, checker: Checker):
        self.checker = checker

    def required_columns(self) -> list[str]:
        return checker_columns(self.checker)

    def __call__(self, completion: str, row: Mapping[str, Any]) -> list[tuple[int, int]]:
        check = self.checker(completion, row)
        return [(start, end) for start, end, _ in check.lines[: check.judged]]


def step_prefixes(completion: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """The text a process reward model scores for each step: the steps so far, joined by
    :data:`STEP_SEPARATOR`. ``recipes/train_prm.py`` trains on exactly these prefixes."""
    steps = [completion[start:end] for start, end in spans]
    return [STEP_SEPARATOR.join(steps[: i + 1]) for i in range(len(steps))]


def context_text(value: Any) -> str:
    """A context column's value as the PRM reads it before the steps: the text and a newline."""
    return f"{value}{STEP_SEPARATOR}"


class ProcessReward(InstantReward):
    """A trained process reward model (PRM) as per-token rewards: step ``i`` of ``S`` gets
    ``(2 p_i - 1) / S`` on the token that completes it, ``p_i = sigmoid(PRM(context, prefix_i))`` the
    probability that the step is right given the steps before it.

    So each step's credit is in ``[-1/S, +1/S]``, as the checker's ``+-1/S``
    (:class:`CheckerStepReward`), and the sequence score is the sum, ``mean_i(2 p_i - 1)`` in
    ``[-1, 1]``; a completion with no steps scores 0.

    Args:
        model: a PRM folder from ``recipes/train_prm.py`` (or any one-logit classifier trained on
            ``prompt + prefix`` texts), or a :class:`~rlreward.rewards.classifier.ClassifierReward`.
        tokenizer: the policy tokenizer (to place credit on its tokens), or ``decode``.
        segment: ``(completion, row) -> [(start, end)]``, where the steps are (default: every non-empty
            line; the arithmetic task uses its checker's step lines).
        batch_size: prefixes per PRM forward pass.
        context: a dataset column the PRM reads before the steps instead of the prompt (its value and
            a newline, e.g. the arithmetic task's ``problem``: the step to judge is not buried in a
            prompt of worked examples). None: what the PRM was trained with
            (``config.rlreward_prm_context``, written by ``recipes/train_prm.py --context``), else the
            prompt.

    Components logged: ``prm_step_probability`` (mean ``p_i`` of a completion) and ``steps_found``.
    """

    name = "prm"
    per_token = "steps"

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        segment: Segmenter = line_steps,
        batch_size: int = 64,
        context: str | None = None,
    ):
        from rlreward.rewards.classifier import ClassifierReward

        if decode is None and tokenizer is not None:
            decode = TokenizerDecode(tokenizer)
        if decode is None:
            raise ValueError(
                "ProcessReward places credit on the policy's tokens: pass tokenizer=... or decode=...."
            )
        if not isinstance(model, ClassifierReward):
            model = ClassifierReward(model, include_prompt=True, per_token=None, batch_size=batch_size)
        if context is None:
            context = getattr(model.model.config, "rlreward_prm_context", None)
        self.prm, self.decode, self.segment = model, decode, segment
        self.context = None if context == "prompt" else context

    def required_columns(self) -> list[str]:
        segmenter = getattr(self.segment, "required_columns", None)  # CheckerSteps reads the problem
        return ([self.context] if self.context is not None else []) + (segmenter() if segmenter else [])

    def contexts(self, prompts: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """What the PRM reads before each sample's steps: its prompt, or its ``context`` column."""
        if self.context is None:
            return list(prompts)
        if rows and self.context not in rows[0]:
            raise ValueError(
                f"ProcessReward: this PRM reads the dataset column {self.context!r} before the steps, and the "
                f"batch has none (columns: {sorted(rows[0])}); add that column or pass context='prompt'."
            )
        return [context_text(row[self.context]) for row in rows]

    def step_probabilities(
        self, prompts: Sequence[Any], prefixes: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        """``p_i`` for each sample's step prefixes, in one batched pass over all of them."""
        flat_prompts = [p for p, steps in zip(prompts, prefixes) for _ in steps]
        flat = [prefix for steps in prefixes for prefix in steps]
        logits = torch.tensor(
            self.prm(prompts=flat_prompts, completions=flat) if flat else [], dtype=torch.float64
        )
        probs = torch.sigmoid(logits).tolist()
        out, at = [], 0
        for steps in prefixes:
            out.append(probs[at : at + len(steps)])
            at += len(steps)
        return out

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        rows = _rows(kwargs, len(completions))
        texts = [completion_text(c) for c in completions]
        spans = [self.segment(text, row) for text, row in zip(texts, rows)]
        probs = self.step_probabilities(
            self.contexts(prompts, rows), [step_prefixes(t, sp) for t, sp in zip(texts, spans)]
        )
        credits = [
            [(end, (2 * p - 1) / len(sp)) for (_, end), p in zip(sp, ps)] for sp, ps in zip(spans, probs)
        ]
        lengths = token_lengths(completion_ids)
        sequence = torch.tensor(
            [sum(v for _, v in cr) if n else 0.0 for cr, n in zip(credits, lengths)], dtype=torch.float32
        )
        tokens = None
        if not ids_are_missing(completion_ids):
            tokens = pad_token_rewards(
                [place_on_tokens(ids, self.decode, cr) for ids, cr in zip(completion_ids, credits)], lengths
            )
        return RewardOutput(
            sequence=sequence,
            tokens=tokens,
            components={
                "prm_step_probability": torch.tensor(
                    [sum(ps) / len(ps) if ps else 0.0 for ps in probs], dtype=torch.float32
                ),
                "steps_found": torch.tensor([len(sp) for sp in spans], dtype=torch.float32),
            },
        )


class TokenizerDecode:
    """``tokenizer.decode`` without special tokens, picklable (unlike a lambda): how the trainers
    decode completions, so offsets in the completion text are offsets in this decode."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    def __call__(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def _arithmetic_checker() -> Checker:
    from rlreward.tasks.arithmetic import ArithmeticChecker

    return ArithmeticChecker()


__all__ = [
    "Checker",
    "CheckerStepReward",
    "OutcomeReward",
    "StepCheck",
    "place_on_tokens",
    "step_values",
]
