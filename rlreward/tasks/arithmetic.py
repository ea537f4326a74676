"""Multi-step arithmetic with a scratchpad: a reasoning task whose every step can be checked exactly.

A problem is a chain of additions and subtractions, ``Compute 47 + 8 - 19 + 36``, generated from a
seed (no data ships). The policy answers one operation per line and then the result::

    47 + 8 = 55
    55 - 19 = 36
    36 + 36 = 72
    Answer: 72

Running totals never go below zero (a ``-`` is drawn only when the operand fits). A problem of ``n``
terms has ``S = n - 1`` steps; step ``k`` is ``a_k op_k x_{k+1} = a_{k+1}`` with ``a_1`` the first
term and ``a_{k+1}`` the running total.

The checker (:func:`check_completion`) labels each *step line*: a non-empty line before the first
``Answer:`` line that contains ``=`` (lines without ``=``, such as "Let's compute:", are commentary and
get no label). With first-error semantics, step line ``k`` is correct iff it states step ``k``
exactly (integers compared as numbers, spaces ignored) and every earlier step line is correct; so
every line after the first wrong one is wrong. The outcome is exact match of the integer after the
first ``Answer:`` with the true result, whatever the steps say.

Data: ``num_train`` training and ``eval_size`` held-out problems, distinct from each other, drawn
from ``--problem_seed``; or a user's ``--dataset`` with a ``problem`` column (``47 + 8 - 19``)
(``--dataset_column`` renames it). Rewards: ``outcome`` (1/0 at the last token), ``steps`` (the
checker's per-line credit, :class:`~rlreward.rewards.process.CheckerStepReward`); the default is
both. Metrics: ``eval/accuracy`` (exact match of the answer), ``eval/step_accuracy`` (share of a
problem's ``S`` steps stated correctly before the first error) and ``eval/answer_rate``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlreward.rewards.process import CheckerStepReward, OutcomeReward, StepCheck
from rlreward.tasks.base import EvalContext, Task, mean

ANSWER = re.compile(r"answer\s*:\s*(-?\d+)", re.IGNORECASE)
STEP = re.compile(r"^\s*(-?\d+)\s*([+-])\s*(\d+)\s*=\s*(-?\d+)\s*\.?\s*$")
PROBLEM = re.compile(r"^\s*\d+(\s*[+-]\s*\d+)+\s*$")

INSTRUCTION = "Compute the expression one operation per line, then write the result as 'Answer: <number>'."


@dataclass(frozen=True)
class Problem:
    """A chain ``terms[0] ops[0] terms[1] ops[1] ...`` of additions and subtractions."""

    terms: tuple[int, ...]
    ops: tuple[str, ...]

    def __post_init__(self):
        if len(self.ops) != len(self.terms) - 1 or len(self.terms) < 2:
            raise ValueError(f"A problem needs n >= 2 terms and n - 1 operators, got {self}.")
        if any(op not in "+-" for op in self.ops):
            raise ValueError(f"Operators must be '+' or '-', got {self.ops}.")

    @property
    def text(self) -> str:
        parts = [str(self.terms[0])]
        for op, term in zip(self.ops, self.terms[1:]):
            parts += [op, str(term)]
        return " ".join(parts)

    def totals(self) -> list[int]:
        """Running totals ``a_1 .. a_n`` (``a_n`` is the answer)."""
        out = [self.terms[0]]
        for op, term in zip(self.ops, self.terms[1:]):
            out.append(out[-1] + term if op == "+" else out[-1] - term)
        return out

    @property
    def answer(self) -> int:
        return self.totals()[-1]

    def steps(self) -> list[tuple[int, str, int, int]]:
        """The ``S = n - 1`` steps as ``(left, op, operand, result)``."""
        a = self.totals()
        return [(a[k], self.ops[k], self.terms[k + 1], a[k + 1]) for k in range(len(self.ops))]

    def solution(self) -> str:
        """The reference scratchpad: one line per step, then ``Answer: <result>``."""
        lines = [f"{x} {op} {y} = {z}" for x, op, y, z in self.steps()]
        return "\n".join(lines + [f"Answer: {self.answer}"])


def parse_problem(text: str) -> Problem:
    """``"47 + 8 - 19"`` -> :class:`Problem`; a ``Compute`` prefix and a trailing ``.`` or ``=`` are allowed."""
    body = re.sub(r"^\s*compute\s*", "", text.strip(), flags=re.IGNORECASE).rstrip(" .=?")
    if not PROBLEM.match(body):
        raise ValueError(
            f"{text!r} is not a chain of non-negative integers joined by + and - (e.g. '47 + 8 - 19')."
        )
    tokens = re.findall(r"\d+|[+-]", body)
    return Problem(tuple(int(t) for t in tokens[0::2]), tuple(tokens[1::2]))


def make_problems(count: int, seed: int, num_terms: int = 4, digits: int = 2, exclude=()) -> list[Problem]:
    """``count`` distinct problems of ``num_terms`` terms of 1..``digits`` digits, from ``seed``.

    Operands are uniform in ``[1, 10^digits)``; ``-`` is drawn with probability 1/2 when the operand
    does not exceed the running total (so totals stay >= 0), else ``+``. ``exclude``: problems (or
    their texts) not to produce, e.g. the training set when drawing held-out ones.
    """
    if num_terms < 2 or digits < 1:
        raise ValueError(f"num_terms must be >= 2 and digits >= 1, got {num_terms} and {digits}.")
    rng = random.Random(seed)
    seen = {p.text if isinstance(p, Problem) else p for p in exclude}
    out: list[Problem] = []
    high = 10**digits - 1
    for _ in range(count * 1000):
        if len(out) == count:
            break
        terms, ops, total = [rng.randint(1, high)], [], 0
        total = terms[0]
        for _ in range(num_terms - 1):
            x = rng.randint(1, high)
            op = "-" if x <= total and rng.random() < 0.5 else "+"
            total = total + x if op == "+" else total - x
            terms.append(x)
            ops.append(op)
        problem = Problem(tuple(terms), tuple(ops))
        if problem.text not in seen:
            seen.add(problem.text)
            out.append(problem)
    if len(out) < count:
        raise ValueError(f"Only {len(out)} distinct problems of this size exist; ask for fewer than {count}.")
    return out


EXAMPLE_SEED = 10_000  # worked examples come from their own seed, never from the data's


def examples(num_terms: int, digits: int, shots: int) -> list[Problem]:
    """The ``shots`` worked examples of the prompt: problems of the task's size from their own seed."""
    return make_problems(shots, EXAMPLE_SEED, num_terms, digits) if shots else []


def format_prompt(problem: Problem, shots: Sequence[Problem] = ()) -> str:
    """The prompt: the instruction, each worked example (problem and solution), then the problem.

    Ends with a newline, so that a plain-text (completion mode) policy starts the first step.
    """
    parts = [INSTRUCTION]
    parts += [f"Compute {example.text}\n{example.solution()}" for example in shots]
    parts.append(f"Compute {problem.text}\n")
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------------------- checker
def check_completion(problem: Problem, completion: str) -> StepCheck:
    """Label each step line of ``completion`` with first-error semantics; read the answer.

    See the module docstring. A step line beyond the ``S`` steps the problem needs is wrong (there
    is no such step). Returns a :class:`~rlreward.rewards.process.StepCheck` whose ``answer`` is the
    stated integer (or None).
    """
    match = ANSWER.search(completion)
    scratch_end = match.start() if match else len(completion)
    expected = problem.steps()
    lines: list[tuple[int, int, bool]] = []
    still_right = True
    for m in re.finditer(r"[^\n]+", completion[:scratch_end]):
        text = m.group()
        if "=" not in text:
            continue
        k = len(lines)
        step = STEP.match(text)
        ok = (
            still_right
            and step is not None
            and k < len(expected)
            and (int(step.group(1)), step.group(2), int(step.group(3)), int(step.group(4))) == expected[k]
        )
        still_right = ok
        lines.append((m.start(), m.start() + len(text.rstrip()), ok))
    answer = int(match.group(1)) if match else None
    return StepCheck(lines=lines, correct=answer == problem.answer, num_steps=len(expected), answer=answer)


class ArithmeticChecker:
    """The checker of :mod:`rlreward.rewards.process` for this task: reads the sample's problem from
    ``column`` and runs :func:`check_completion` (picklable, unlike a closure)."""

    def __init__(self, column: str = "problem"):
        self.column = column

    def __call__(self, completion: str, row: Any) -> StepCheck:
        if self.column not in row:
            raise ValueError(
                f"the arithmetic checker needs the column {self.column!r} with each sample's problem "
                f"(columns: {', '.join(sorted(row)) or 'none'}); pass ArithmeticChecker(column=...)."
            )
        return check_completion(parse_problem(row[self.column]), completion)


# --------------------------------------------------------------------------------------------- task
@dataclass
class ArithmeticArguments:
    """Own flags of the arithmetic task."""

    num_terms: int = field(default=4, metadata={"help": "Terms per problem (S = num_terms - 1 steps)."})
    digits: int = field(default=2, metadata={"help": "Operands are 1..10^digits - 1."})
    num_train: int = field(default=2000, metadata={"help": "Training problems drawn from --problem_seed."})
    problem_seed: int = field(
        default=0, metadata={"help": "Seed of the generated problems (train and held-out)."}
    )
    shots: int = field(
        default=1, metadata={"help": "Worked examples (of the same size) in each prompt before the problem."}
    )


def build_rows(problems: list[Problem], shots: Sequence[Problem] = ()) -> dict[str, list]:
    """The dataset columns of ``problems``: ``prompt``, ``problem``, ``answer``, ``reference``."""
    return {
        "prompt": [format_prompt(p, shots) for p in problems],
        "problem": [p.text for p in problems],
        "answer": [p.answer for p in problems],
        "reference": [p.solution() for p in problems],
    }


def generated_splits(options: ArithmeticArguments, eval_size: int) -> dict[str, Any]:
    """Held-out problems first (their own seed), then training ones; neither repeats a prompt's example."""
    from datasets import Dataset

    shots = examples(options.num_terms, options.digits, options.shots)
    size = (options.num_terms, options.digits)
    held_out = make_problems(eval_size, options.problem_seed * 2 + 1, *size, exclude=shots)
    train = make_problems(options.num_train, options.problem_seed * 2 + 2, *size, exclude=held_out + shots)
    return {
        "train": Dataset.from_dict(build_rows(train, shots)),
        "eval": Dataset.from_dict(build_rows(held_out, shots)),
    }


def load_data(args: Any, options: ArithmeticArguments) -> dict[str, Any]:
    if not args.dataset:
        return generated_splits(options, args.eval_size)
    from datasets import Dataset

    from rlreward.data.base import load_table, train_eval_split, validate_columns

    column = args.dataset_column or "problem"
    table = load_table(args.dataset)
    validate_columns(table, [column], "arithmetic", {column: "pass --dataset_column <name>"})
    problems = []
    for i, text in enumerate(table[column]):
        try:
            problems.append(parse_problem(text))
        except ValueError as err:
            raise ValueError(f"--dataset row {i}, column {column!r}: {err}") from err
    shots = examples(options.num_terms, options.digits, options.shots)
    return train_eval_split(Dataset.from_dict(build_rows(problems, shots)), args.eval_size, seed=0)


def arithmetic_items(result: Any, context: EvalContext | None = None) -> dict[str, list[float]]:
    """Per problem: answer exact match, the share of its ``S`` steps right before the first error,
    and whether the completion states an answer."""
    checks = [check_completion(parse_problem(r["problem"]), r["completion"]) for r in result.rows]
    return {
        "eval/accuracy": [float(c.correct) for c in checks],
        "eval/step_accuracy": [c.correct_prefix / c.judged for c in checks],
        "eval/answer_rate": [float(c.answer is not None) for c in checks],
    }


def arithmetic_metrics(result: Any, context: EvalContext | None = None) -> dict[str, float]:
    """The means of :func:`arithmetic_items`."""
    return {k: mean(v) for k, v in arithmetic_items(result, context).items()}


def _outcome(tokenizer: Any) -> Any:
    return OutcomeReward(ArithmeticChecker())


def _steps(tokenizer: Any) -> Any:
    return CheckerStepReward(ArithmeticChecker(), tokenizer=tokenizer)


DEFAULT_PRM = "outputs/prm_arithmetic"
"""Where ``recipes/train_prm.py`` writes its process reward model, and where ``--reward prm`` reads it."""


def _prm(tokenizer: Any) -> Any:
    from pathlib import Path

    from rlreward.rewards.process import CheckerSteps, ProcessReward

    if not Path(DEFAULT_PRM).is_dir():
        raise ValueError(
            f"--reward prm: no process reward model at {DEFAULT_PRM}; train one with "
            "`python recipes/train_prm.py` first."
        )
    return ProcessReward(DEFAULT_PRM, tokenizer=tokenizer, segment=CheckerSteps(ArithmeticChecker()))


TASK = Task(
    name="arithmetic",
    title="Multi-step arithmetic (outcome + checker step rewards)",
    load_data=load_data,
    rewards={"outcome": _outcome, "steps": _steps, "prm": _prm},
    default_reward=("outcome", "steps"),
    default_weights=(1.0, 0.5),
    item_metrics=arithmetic_items,
    reference=lambda row: row["reference"],
    options=ArithmeticArguments,
)
