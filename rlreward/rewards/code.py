"""A unit-test reward for code generation, with per-line syntax credit, judged outside the solution.

For a completion ``y`` of ``T`` policy tokens whose extracted code has ``L`` judged non-blank lines
(the first ``max_syntax_lines``), of which ``V`` extend a syntactically valid prefix, and whose
tests pass ``P`` of ``N`` assertions:

    R(y) = P / N + syntax_weight * V / L

* ``P / N`` is the unit-test fraction. It is 0 when the run does not finish cleanly: a timeout, a
  crash, the solution raising (``SystemExit`` included) while it is being defined, or the solution
  process ending before the judge has run every test.
* ``V / L`` is the syntax share (0 when there is no code). Line ``k`` counts when the code up to
  and including it (after the prompt, with ``prepend_prompt``) parses as a complete program or a
  valid incomplete one (``codeop``: ``def f(x):`` alone is valid so far; ``x = )`` is not). A line
  ending in a backslash continuation is judged with the line it continues into. A prefix that is a
  syntax error stays one when lines are added, so the valid lines are the ones before the first
  invalid one, found by bisection: ``O(log L)`` parses, not one per line.

Per-token ("instant") rewards, ``per_token="syntax"``: each valid line's ``syntax_weight / L`` goes
to the policy token that completes the line (the first token whose decoded prefix reaches the
line's last character), and ``P / N`` goes to the last token. So for every non-empty completion

    sum_t r_t = R(y)

exactly (up to float rounding), and ``tokens[i, j] = 0`` for ``j >= len(completion_ids[i])``.
With ``per_token=None`` only ``R(y)`` is returned and the trainer densifies it.

Tests come from a dataset column (``tests_column``), one per sample, in either form:

* MBPP style: ``assert`` lines, as one string or a list of strings;
* HumanEval style: a module defining ``check(candidate)`` (plus e.g. ``METADATA``), with the name
  of the function under test in ``entry_point_column``.

Each top-level statement containing a non-constant ``assert`` (in ``check``'s body, or in the
module for MBPP style) is one test; other statements are setup and run in order. A test passes
when it runs to the end without raising anything.

Who decides a pass: a judge process (:mod:`rlreward.sandbox.judge`) that never runs the solution's
code. The solution runs sandboxed in its own process, as its own user; the judge runs the tests
with the function under test (and any other function of the solution the tests name) bound to a
proxy that sends the arguments to the solution process and gets back only plain values (``None``,
numbers, strings, bytes, lists, tuples, dicts, sets), decoded into fresh objects. An object whose
``__eq__`` is always true, a ``gc`` or frame walk looking for the harness, a patched ``math``, or a
fake report therefore change nothing: the tests, the expected values and the verdict are in
another process the solution cannot see, signal or trace. With ``prepend_prompt``, the prompt's
helpers (HumanEval's ``poly``, ``encode_cyclic``, ...) are defined in the judge from the prompt, so a
completion that redefines them changes only its own copy. What the judge cannot do: pass objects
(class instances, generators, functions) between the tests and the solution; a test needing one
fails.

Example:
    >>> reward = UnitTestReward(per_token=None, syntax_weight=0.0)
    >>> reward(prompts=[""], completions=["def add(a, b):\\n    return a + b\\n"],
    ...        tests=[["assert add(1, 2) == 3", "assert add(2, 2) == 5"]])
    [0.5]
"""

from __future__ import annotations

import ast
import codeop
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch

from rlreward.rewards.base import (
    InstantReward,
    RewardOutput,
    completion_text,
    pad_token_rewards,
    prompt_text,
    token_lengths,
)
from rlreward.rewards.text import read_column, resolve_decode
from rlreward.sandbox import JudgeSpec, SandboxConfig, SandboxResult, run_many

PER_TOKEN_MODES = ("syntax", None)
#: Non-blank lines judged for syntax credit; later lines get none and do not count in ``L``.
MAX_SYNTAX_LINES = 512
_PYTHON_FENCES = ("", "python", "python3", "py", "py3")
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)
_CLOSING_FENCE = re.compile(r"^[ \t]*```", re.M)
_DEDENT = re.compile(r"(?<=\n)[^\s]")  # a line after the first that starts at column 0
#: A dataset column that, when present, sets ``prepend_prompt`` per row (codegen's completion mode).
CONTINUES_PROMPT_COLUMN = "continues_prompt"


class TestStep(NamedTuple):
    """One statement of a sample's tests."""

    source: str
    """Python source of the statement."""
    index: int | None
    """Its test number, or ``None`` for setup (imports, constants, helper definitions)."""


def extract_code(text: str, entry_point: str | None = None, continuation: bool = False) -> tuple[str, int]:
    """The code in a completion and where it starts in ``text``.

    Args:
        text: the completion.
        entry_point: prefer the fenced block that defines this function.
        continuation: the completion continues code in the prompt (the prompt ends inside the function,
            HumanEval style): take everything up to the first closing fence or the first line that
            starts at column 0 (the function has ended there: what follows is the policy's own test
            calls or chatter), rather than looking for an opening fence.

    Returns:
        ``(code, start)`` with ``text[start:start + len(code)] == code``. Without fences, the whole text.
    """
    if continuation:
        ends = [m.start() for m in (_CLOSING_FENCE.search(text), _DEDENT.search(text)) if m]
        return text[: min(ends, default=len(text))], 0
    blocks = [m for m in _FENCE.finditer(text) if m.group(1).lower() in _PYTHON_FENCES]
    if not blocks:
        return text, 0
    if entry_point:
        defines = re.compile(rf"\bdef\s+{re.escape(entry_point)}\s*\(")
        blocks = [m for m in blocks if defines.search(m.group(2))] or blocks
    return blocks[0].group(2), blocks[0].start(2)


def split_tests(tests: str | Sequence[str], entry_point: str | None = None) -> tuple[list[TestStep], str]:
    """Split a sample's tests into setup statements and counted tests.

    Returns:
        ``(steps, candidate_name)``: steps in execution order, and the name ``check``'s parameter
        binds the function under test to (``"candidate"`` for MBPP-style tests).

    Raises:
        ValueError: the tests do not parse, contain no assertion, or define ``check`` without an entry point.
    """
    source = tests if isinstance(tests, str) else "\n".join(tests)
    module = ast.parse(source)
    check = next((s for s in module.body if isinstance(s, ast.FunctionDef) and s.name == "check"), None)
    steps: list[TestStep] = []
    candidate = "candidate"
    if check is not None:
        if not entry_point:
            raise ValueError("the tests define check(candidate) but the sample has no entry point")
        if check.args.args:
            candidate = check.args.args[0].arg
        steps += [
            TestStep(ast.unparse(s), None) for s in module.body if s is not check and not _calls_check(s)
        ]
        body = check.body
    else:
        body = module.body
    count = 0
    for stmt in body:
        counted = _is_test(stmt)
        steps.append(TestStep(ast.unparse(stmt), count if counted else None))
        count += counted
    if count == 0:
        raise ValueError("the tests contain no assert statement")
    for step in steps:
        compile(step.source, "<test>", "exec")  # e.g. a `return` in check's body cannot run on its own
    return steps, candidate


def _is_test(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
        return False
    # `assert True, "..."` (HumanEval has some) cannot fail, so it is not a test.
    return any(isinstance(n, ast.Assert) and not isinstance(n.test, ast.Constant) for n in ast.walk(stmt))


def _calls_check(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Name)
        and stmt.value.func.id == "check"
    )


def judge_spec(
    steps: Sequence[TestStep], entry_point: str | None, candidate: str = "candidate", prompt: str = ""
) -> JudgeSpec:
    """What the judge runs for one sample: its test steps, the function under test, the prompt's helpers."""
    return JudgeSpec(tuple((s.source, s.index) for s in steps), entry_point or "", candidate, prompt)


def verdict_counts(verdict: dict | None) -> tuple[int, bool, str]:
    """From a judge's verdict: ``(tests passed, whether every test ran, error raised defining the solution)``."""
    if not verdict:
        return 0, False, ""
    return len(verdict["passed"]), bool(verdict["done"]), verdict["error"]


def syntax_lines(code: str, prefix: str = "", max_lines: int = MAX_SYNTAX_LINES) -> list[tuple[int, bool]]:
    """For each of the first ``max_lines`` non-blank lines of ``code``: ``(end, valid)``.

    ``end`` is the offset in ``code`` just past the line's last character (newline excluded);
    ``valid`` is whether ``prefix`` + the code up to that line is a valid, possibly incomplete, program.
    A syntax error in a prefix stays in every longer one, so the valid lines are those before the
    first invalid one, found by bisection (``O(log L)`` parses of at most the whole code).
    """
    lines = [m for m in re.finditer(r"[^\n]*\n|[^\n]+$", code) if m.group().strip()][:max_lines]
    if not lines:
        return []

    def valid_through(k: int) -> bool:
        return _valid_prefix(prefix + code[: lines[k].end()])

    first_invalid = len(lines)
    if not valid_through(len(lines) - 1):
        lo, hi = 0, len(lines) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if valid_through(mid):
                lo = mid + 1
            else:
                hi = mid
        first_invalid = lo
    valid = [k < first_invalid for k in range(len(lines))]
    for k in range(len(lines) - 2, -1, -1):  # a backslash continuation is judged with its next line
        if lines[k].group().rstrip("\n").endswith("\\"):
            valid[k] = valid[k + 1]
    return [(m.start() + len(m.group().rstrip("\n")), ok) for m, ok in zip(lines, valid)]


def _valid_prefix(source: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for `x is 1` and the like
        try:
            codeop.compile_command(source, "<prefix>", "exec")  # None: incomplete but valid so far
        except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
            return False
    return True


def token_positions(ids: Sequence[int], decode: Callable[[list[int]], str], ends: Sequence[int]) -> list[int]:
    """For each character offset in ``ends``, the first token whose decoded prefix reaches it.

    Binary search over prefix decodes (``O(len(ends) log T)`` calls); offsets past the decoded text
    map to the last token.
    """
    lengths: dict[int, int] = {}

    def decoded_length(j: int) -> int:
        if j not in lengths:
            lengths[j] = len(decode(list(ids[: j + 1])))
        return lengths[j]

    positions = []
    for end in ends:
        lo, hi = 0, len(ids) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if decoded_length(mid) >= end:
                hi = mid
            else:
                lo = mid + 1
        positions.append(lo)
    return positions


class UnitTestReward(InstantReward):
    """Fraction of a sample's unit tests a completion passes, plus per-line syntax credit.

    See the module docstring for the maths and the judge. Components logged:
    ``tests_passed`` (``P / N``), ``syntax`` (``V / L``), ``timeout`` (1 if the run hit a time limit)
    and ``errored`` (1 if it ended without a result for another reason). The sandbox results of
    the last call are kept in ``last_results`` and their reasons in ``last_reasons``. Nothing a
    completion does raises here; only unusable tests or columns (the dataset's fault) do.

    Args:
        tests_column: dataset column with each sample's tests (string or list of strings).
        entry_point_column: column naming the function under test (needed for ``check(candidate)`` tests).
        prepend_prompt: the completion continues code in the (plain-text) prompt, HumanEval style:
            run prompt + completion (up to the function's end, see :func:`extract_code`), judge syntax
            after the prompt, and define the prompt's helpers for the tests in the judge. A
            ``continues_prompt`` column (one bool per row), when the data has one, sets it per row.
        per_token: ``"syntax"`` (per-line credit, needs ``tokenizer`` or ``decode``) or ``None``.
        syntax_weight: total weight of the syntax share; 0 for a pure test-fraction reward.
        tokenizer: the policy tokenizer (its ``decode`` is used, skipping special tokens).
        decode: ``list[int] -> str``, instead of ``tokenizer`` (give one of them).
        sandbox: limits for each run (default :class:`SandboxConfig`).
        workers: programs run at once (at most the CPU count).
        max_syntax_lines: non-blank lines judged for syntax credit (a bound on the parsing cost).
    """

    name = "unit_tests"

    def __init__(
        self,
        tests_column: str = "tests",
        entry_point_column: str = "entry_point",
        prepend_prompt: bool = False,
        per_token: str | None = "syntax",
        syntax_weight: float = 0.1,
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        sandbox: SandboxConfig | None = None,
        workers: int | None = None,
        max_syntax_lines: int = MAX_SYNTAX_LINES,
    ):
        if per_token not in PER_TOKEN_MODES:
            raise ValueError(f"per_token must be one of {PER_TOKEN_MODES}, got {per_token!r}.")
        decode = resolve_decode(tokenizer, decode)
        if per_token == "syntax" and decode is None:
            raise ValueError(
                "UnitTestReward(per_token='syntax') places credit on policy tokens and needs the policy "
                "tokenizer: pass tokenizer=... or decode=..., or per_token=None for sequence scores only."
            )
        if syntax_weight < 0:
            raise ValueError(f"syntax_weight must be >= 0, got {syntax_weight}.")
        if max_syntax_lines < 1:
            raise ValueError(f"max_syntax_lines must be >= 1, got {max_syntax_lines}.")
        self.tests_column = tests_column
        self.entry_point_column = entry_point_column
        self.prepend_prompt = prepend_prompt
        self.per_token = per_token
        self.syntax_weight = float(syntax_weight)
        self.decode = decode
        self.sandbox = sandbox or SandboxConfig()
        self.workers = workers
        self.max_syntax_lines = max_syntax_lines
        self.last_results: list[SandboxResult] = []
        self.last_reasons: list[str] = []

    def required_columns(self) -> list[str]:
        return [self.tests_column]  # the entry point is optional

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        b = len(completions)
        tests = read_column(kwargs, self.tests_column, b, self.name)
        has_entries = kwargs.get(self.entry_point_column) is not None
        entries = read_column(kwargs, self.entry_point_column, b, self.name) if has_entries else [None] * b
        continues = kwargs.get(CONTINUES_PROMPT_COLUMN)
        continues = [self.prepend_prompt] * b if continues is None else [bool(c) for c in continues]
        plans: dict[tuple, tuple[list[TestStep], str]] = {}  # a GRPO group shares its tests
        solutions, specs, syntax = [], [], []
        for i in range(b):
            key = (tests[i] if isinstance(tests[i], str) else tuple(tests[i]), entries[i])
            if key not in plans:
                try:
                    plans[key] = split_tests(tests[i], entries[i])
                except (SyntaxError, ValueError) as err:
                    raise ValueError(
                        f"Sample {i}: column '{self.tests_column}' is not usable ({err}); give Python "
                        "assert lines, or a check(candidate) function plus an entry point column."
                    ) from err
            steps, candidate = plans[key]
            prefix = prompt_text(prompts[i]) if continues[i] else ""
            code, start = extract_code(completion_text(completions[i]), entries[i], continues[i])
            # The prompt's helpers come from the prompt, defined in the judge: its code, or the code in it.
            plain = prompt_text(prompts[i]) if isinstance(prompts[i], (str, list)) else ""
            helpers = prefix or extract_code(plain, entries[i])[0]
            solutions.append(prefix + code)
            specs.append(judge_spec(steps, entries[i], candidate, helpers))
            syntax.append(
                [(start + end, ok) for end, ok in syntax_lines(code, prefix, self.max_syntax_lines)]
            )
        results = run_many(solutions, self.sandbox, specs=specs, workers=self.workers)

        lengths = token_lengths(completion_ids)
        fractions, shares, timeouts, errored, rows, reasons = [], [], [], [], [], []
        for i, result in enumerate(results):
            passed, done, error = verdict_counts(result.verdict)
            finished = done and result.ok
            fraction = passed / specs[i].n if finished else 0.0
            lines = syntax[i]
            valid_ends = [end for end, ok in lines if ok]
            share = len(valid_ends) / len(lines) if lines else 0.0
            fractions.append(fraction)
            shares.append(share)
            timeouts.append(float(result.status == "timeout"))
            errored.append(float(not finished and result.status != "timeout"))
            reasons.append(_reason(result, finished, error, passed, specs[i].n))
            if self.per_token == "syntax":
                row = [0.0] * lengths[i]
                if lengths[i]:
                    for j in token_positions(completion_ids[i], self.decode, valid_ends):
                        row[j] += self.syntax_weight / len(lines)
                    row[-1] += fraction
                rows.append(row)
        self.last_results, self.last_reasons = results, reasons
        sequence = torch.tensor(fractions, dtype=torch.float32) + self.syntax_weight * torch.tensor(
            shares, dtype=torch.float32
        )
        return RewardOutput(
            sequence=sequence,
            tokens=pad_token_rewards(rows, lengths) if self.per_token == "syntax" else None,
            components={
                "tests_passed": torch.tensor(fractions, dtype=torch.float32),
                "syntax": torch.tensor(shares, dtype=torch.float32),
                "timeout": torch.tensor(timeouts, dtype=torch.float32),
                "errored": torch.tensor(errored, dtype=torch.float32),
            },
        )


def _reason(result: SandboxResult, finished: bool, error: str, passed: int, total: int) -> str:
    if finished:
        return f"{passed}/{total} tests passed."
    if error:
        return f"The solution raised {error} while being defined; no test ran."
    return result.reason


__all__ = [
    "PER_TOKEN_MODES",
    "TestStep",
    "UnitTestReward",
    "MAX_SYNTAX_LINES",
    "CONTINUES_PROMPT_COLUMN",
    "extract_code",
    "judge_spec",
    "split_tests",
    "syntax_lines",
    "token_positions",
    "verdict_counts",
]
