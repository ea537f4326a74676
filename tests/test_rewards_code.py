"""UnitTestReward: test fractions, per-line syntax credit, code extraction, test splitting."""

from __future__ import annotations

import math
import pickle
import re

import pytest
import torch

from rlreward.rewards.base import evaluate_reward
from rlreward.rewards.code import (
    UnitTestReward,
    extract_code,
    split_tests,
    syntax_lines,
    token_positions,
    verdict_counts,
)
from rlreward.sandbox import SandboxConfig

SANDBOX = SandboxConfig(timeout_s=1.0)
ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 4"]
HUMANEVAL_PROMPT = 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n'
HUMANEVAL_TESTS = """

METADATA = {'author': 'nobody'}


def check(candidate):
    assert candidate(1, 2) == 3
    assert True, 'this cannot fail and is not a test'
    pairs = [(0, 0), (5, -5)]
    for a, b in pairs:
        assert candidate(a, b) == a + b
    assert candidate(2, 2) == 4


check(add)
"""


class PieceTokenizer:
    """A stand-in for a BPE tokenizer: words, single symbols, and newline-plus-indent pieces."""

    def __init__(self):
        self.pieces = ["<eos>"]

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece in re.findall(r"\n[ ]*|[ ]+|\w+|[^\w\s]", text):
            if piece not in self.pieces:
                self.pieces.append(piece)
            ids.append(self.pieces.index(piece))
        return ids

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join(self.pieces[i] for i in ids if not (skip_special_tokens and i == 0))


def sequence_only(**kwargs) -> UnitTestReward:
    return UnitTestReward(per_token=None, syntax_weight=0.0, sandbox=SANDBOX, **kwargs)


def test_correct_partly_correct_and_wrong_solutions():
    completions = [
        "def add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return a * b\n",  # passes add(2, 2) only
        "def add(a, b):\n    return abs(a) + b\n",  # fails add(-1, 1) only
        "def add(a, b):\n    return a - b\n",
    ]
    scores = sequence_only()(prompts=[""] * 4, completions=completions, tests=[ADD_TESTS] * 4)
    assert scores == pytest.approx([1.0, 1 / 3, 2 / 3, 0.0])


def test_humaneval_check_function_with_prompt_continuation():
    reward = sequence_only(prepend_prompt=True)
    bodies = ["    return a + b\n", "    return a - b\n"]
    out = reward.score(
        [HUMANEVAL_PROMPT] * 2, bodies, [[1] * 4] * 2, tests=[HUMANEVAL_TESTS] * 2, entry_point=["add", "add"]
    )
    # Three tests: candidate(1, 2), the loop (one test), candidate(2, 2). `a - b` fails all three:
    # the loop's (0, 0) holds but its (5, -5) does not.
    assert out.sequence.tolist() == pytest.approx([1.0, 0.0])
    assert reward.last_reasons == ["3/3 tests passed.", "0/3 tests passed."]


def test_per_token_rewards_sum_to_the_sequence_score_and_padding_is_zero():
    tokenizer = PieceTokenizer()
    completions = [
        "def add(a, b):\n    return a + b\n",
        "```python\ndef add(a, b):\n    return a * b\n```",
        "def add(a, b):\n    return (a +\n",  # incomplete: the last line extends a valid prefix, tests fail
        "def add(a, b) return\n",
    ]
    ids = [tokenizer.encode(c) for c in completions]
    reward = UnitTestReward(tokenizer=tokenizer, syntax_weight=0.1, sandbox=SANDBOX)
    out = evaluate_reward(reward, [""] * 4, completions, ids, tests=[ADD_TESTS] * 4)
    expected_tests = torch.tensor([1.0, 1 / 3, 0.0, 0.0])
    expected_syntax = torch.tensor([1.0, 1.0, 1.0, 0.0])
    torch.testing.assert_close(out.components["tests_passed"], expected_tests)
    torch.testing.assert_close(out.components["syntax"], expected_syntax)
    torch.testing.assert_close(out.sequence, expected_tests + 0.1 * expected_syntax)
    torch.testing.assert_close(out.tokens.sum(dim=1), out.sequence)
    for i, row in enumerate(ids):
        assert out.tokens[i, len(row) :].eq(0).all()
    assert out.tokens.shape == (4, max(map(len, ids)))


def test_syntax_credit_lands_on_the_token_completing_each_line():
    # One token per character: line 1 ends at its ':' (index 8), line 2 at 'x' (index 21).
    code = "def f(x):\n    return x\n"
    ids = [ord(c) for c in code]
    reward = UnitTestReward(decode=lambda t: "".join(map(chr, t)), syntax_weight=0.1, sandbox=SANDBOX)
    out = reward.score([""], [code], [ids], tests=[["assert f(3) == 3", "assert f(0) == 1"]])
    expected = torch.zeros(len(code))
    expected[8] = 0.05
    expected[21] = 0.05
    expected[-1] = 0.5  # half the tests pass; the fraction goes on the last token
    torch.testing.assert_close(out.tokens[0], expected)
    assert out.sequence.item() == pytest.approx(0.6)


def test_syntax_lines_hand_computed():
    assert syntax_lines("x = 1\ny = )\nz = 2\n") == [(5, True), (11, False), (17, False)]
    assert syntax_lines("def f(x):\n\n    return (x +\n") == [(9, True), (26, True)]
    assert syntax_lines("x = 1 + \\\n    2\n") == [(9, True), (15, True)]  # judged with its continuation
    assert syntax_lines("    return x\n", prefix="def f(x):\n") == [(12, True)]
    assert syntax_lines("    return x\n") == [(12, False)]
    assert syntax_lines("") == []


def test_token_positions_binary_search():
    decode = "".join
    pieces = ["def", " f", "():", "\n   ", " pass", "\n"]
    assert token_positions(pieces, decode, [1, 3, 8, 9, 17, 99]) == [0, 0, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "text, entry_point, expected",
    [
        ("def f():\n    pass\n", None, "def f():\n    pass\n"),
        ("Sure:\n```python\ndef f():\n    pass\n```\nIt passes.", None, "def f():\n    pass\n"),
        ("```py\nimport os\n```\n```python\ndef g():\n    pass\n```", "g", "def g():\n    pass\n"),
        ("```\ndef f():\n    pass\n", None, "def f():\n    pass\n"),  # truncated: no closing fence
        ("```bash\nls\n```\nno python here", None, "```bash\nls\n```\nno python here"),
    ],
)
def test_extract_code(text, entry_point, expected):
    code, start = extract_code(text, entry_point)
    assert code == expected
    assert text[start : start + len(code)] == code


def test_extract_code_continuation_stops_at_the_closing_fence_or_the_function_end():
    assert extract_code("    return 1\n```\nExplanation.", continuation=True) == ("    return 1\n", 0)
    body = "    x = 1\n\n    return x\n"
    assert extract_code(body + "\nprint(f())\n", continuation=True) == (body + "\n", 0)
    assert extract_code(body, continuation=True) == (body, 0)


def test_continues_prompt_column_sets_prepend_prompt_per_row():
    reward = sequence_only()
    prompt = "def add(a, b):\n"
    completions = ["    return a + b\n", "def add(a, b):\n    return a + b\n"]
    out = reward.score(
        [prompt] * 2, completions, [[1] * 4] * 2, tests=[ADD_TESTS] * 2, continues_prompt=[True, False]
    )
    assert out.sequence.tolist() == pytest.approx([1.0, 1.0])


def test_markdown_fenced_completion_is_scored():
    completion = "Here is the function:\n```python\ndef add(a, b):\n    return a + b\n```\nIt adds."
    assert sequence_only()(prompts=[""], completions=[completion], tests=[ADD_TESTS]) == [1.0]


def test_split_tests_counts_only_assertions_that_can_fail():
    steps, candidate = split_tests(HUMANEVAL_TESTS, "add")
    assert candidate == "candidate"
    assert [s.index for s in steps] == [None, 0, None, None, 1, 2]  # METADATA, tests, `assert True`, setup
    assert "check(add)" not in "".join(s.source for s in steps)
    steps, _ = split_tests("import math\nassert math.isclose(f(1), 2.0)\nassert f(2) == 4\n")
    assert [s.index for s in steps] == [None, 0, 1]


@pytest.mark.parametrize(
    "tests, entry_point, message",
    [
        ("x = 1\n", None, "no assert"),
        ("def check(candidate):\n    assert candidate(1)\n", None, "no entry point"),
        ("assert f(1) ==\n", None, "invalid syntax"),
    ],
)
def test_unusable_tests_are_rejected_with_the_sample_named(tests, entry_point, message):
    reward = sequence_only()
    with pytest.raises(ValueError, match=rf"Sample 1: column 'tests'.*{message}"):
        reward(prompts=["", ""], completions=["x = 1", "x = 1"], tests=[ADD_TESTS, tests])


def test_missing_tests_column_is_named():
    with pytest.raises(ValueError, match="needs the dataset column 'tests'.*answer"):
        sequence_only()(prompts=[""], completions=["x"], answer=["1"])


def test_timeout_and_definition_errors_score_zero_with_components():
    completions = ["def add(a, b):\n    while True:\n        pass\n", "def add(a, b:\n    return 1\n"]
    reward = sequence_only()
    out = reward.score([""] * 2, completions, [[1]] * 2, tests=[ADD_TESTS] * 2)
    assert out.sequence.tolist() == [0.0, 0.0]
    assert out.components["timeout"].tolist() == [1.0, 0.0]
    assert out.components["errored"].tolist() == [0.0, 1.0]
    assert "SyntaxError" in reward.last_reasons[1]


def test_verdict_counts_need_the_done_marker():
    assert verdict_counts({"passed": [0, 2], "n": 3, "done": True, "error": "", "lost": False}) == (
        2,
        True,
        "",
    )
    assert verdict_counts({"passed": [0], "n": 3, "done": False, "error": "", "lost": True}) == (1, False, "")
    assert verdict_counts({"passed": [], "n": 3, "done": False, "error": "SystemExit", "lost": False}) == (
        0,
        False,
        "SystemExit",
    )
    assert verdict_counts(None) == (0, False, "")


def test_construction_errors_and_pickling():
    with pytest.raises(ValueError, match="needs the policy tokenizer"):
        UnitTestReward()
    with pytest.raises(ValueError, match="per_token"):
        UnitTestReward(per_token="attention", decode=str)
    reward = pickle.loads(pickle.dumps(UnitTestReward(tokenizer=PieceTokenizer())))
    assert reward.decode([0]) == ""


# Honest solutions the judge must not fail: threads, in-place changes, every plain type, exceptions.

HONEST = {
    "threads": (
        "import threading\nfrom concurrent.futures import ThreadPoolExecutor\n"
        "def total(xs):\n    with ThreadPoolExecutor(4) as pool:\n        parts = list(pool.map(lambda x: x * 2, xs))\n"
        "    lock = threading.Lock()\n    out = []\n    def add():\n        with lock:\n            out.append(sum(parts))\n"
        "    t = threading.Thread(target=add)\n    t.start()\n    t.join()\n    return out[0]\n",
        ["assert total([1, 2, 3]) == 12", "assert total([]) == 0"],
    ),
    "processes": (
        "import multiprocessing\ndef square(x):\n    return x * x\n"
        "def total(n):\n    with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "        return sum(pool.map(square, range(n)))\n",
        ["assert total(4) == 14"],
    ),
    "sorts_its_argument_in_place": (
        "def sort_in_place(xs):\n    xs.sort()\n",
        [
            "data = [3, 1, 2]\nsort_in_place(data)\nassert data == [1, 2, 3]",
            "assert sort_in_place([1]) is None",
        ],
    ),
    "plain_types": (
        "def kinds(n):\n    return (n, float(n) / 2, str(n), b'x' * n, [n], {n: {n}}, frozenset([n]), None, 1j * n, True)\n",
        [
            "assert kinds(2) == (2, 1.0, '2', b'xx', [2], {2: {2}}, frozenset([2]), None, 2j, True)",
            "assert isinstance(kinds(1)[5], dict) and kinds(1)[-1] is True",
        ],
    ),
    "raises_what_the_test_expects": (
        "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n",
        [
            "try:\n    root(-1)\n    raise AssertionError('no error')\nexcept ValueError:\n    pass\nassert root(4) == 2.0",
            "assert root(x=9) == 3.0",
        ],
    ),
    "helper_functions_and_recursion": (
        "def _fib(n):\n    return n if n < 2 else _fib(n - 1) + _fib(n - 2)\ndef fib_list(n):\n    return [_fib(i) for i in range(n)]\n",
        ["assert fib_list(7) == [0, 1, 1, 2, 3, 5, 8]", "assert fib_list(0) == []"],
    ),
}


@pytest.mark.parametrize("name", list(HONEST))
def test_honest_solutions_score_one(name):
    code, tests = HONEST[name]
    reward = sequence_only()
    assert reward(prompts=[""], completions=[code], tests=[tests]) == [1.0], reward.last_reasons


def test_an_object_the_judge_cannot_receive_fails_only_its_test():
    code = "def pair(x):\n    return (x, x)\ndef gen(x):\n    return (i for i in range(x))\n"
    tests = ["assert pair(1) == (1, 1)", "assert list(gen(2)) == [0, 1]"]
    reward = sequence_only()
    assert reward(prompts=[""], completions=[code], tests=[tests]) == [0.5]


# Prompt helpers (HumanEval's poly, encode_cyclic, ...) come from the prompt, never from the completion.

HELPER_PROMPT = (
    "def double(x):\n    return 2 * x\n\n\n"
    'def half(x: float) -> float:\n    """Return x / 2, so that double(half(x)) == x."""\n'
)
HELPER_TESTS = "\n\ndef check(candidate):\n    assert double(candidate(8)) == 8\n    assert double(candidate(3)) == 3\n\n\ncheck(half)\n"
REDEFINES_THE_HELPER = "    return x\n\n\ndef double(x):\n    return x\n"  # double(half(x)) == x for any x


def test_a_completion_that_redefines_a_prompt_helper_gains_nothing():
    reward = sequence_only(prepend_prompt=True)
    bodies = ["    return x / 2\n", REDEFINES_THE_HELPER]
    scores = reward(
        prompts=[HELPER_PROMPT] * 2, completions=bodies, tests=[HELPER_TESTS] * 2, entry_point=["half"] * 2
    )
    assert scores == [1.0, 0.0], reward.last_reasons


def test_helpers_come_from_the_prompt_without_prepend_prompt_too():
    # The caller put the prompt's code in the completion itself (as codegen's pass@1 does).
    honest = HELPER_PROMPT + "    return x / 2\n"
    cheat = HELPER_PROMPT + REDEFINES_THE_HELPER
    reward = sequence_only()
    prompts = ["```python\n" + HELPER_PROMPT + "```"] * 2
    scores = reward(
        prompts=prompts, completions=[honest, cheat], tests=[HELPER_TESTS] * 2, entry_point=["half"] * 2
    )
    assert scores == [1.0, 0.0], reward.last_reasons


def test_whatever_a_solution_prints_the_caller_does_not_raise():
    completions = [
        "import os\nos.write(1, bytes(range(256)) * 100)\nos.write(2, b'\\xff\\xfe\\x00')\ndef add(a, b):\n    return a + b\n",
        "import sys\nsys.stdout.write('\\u00b2 pass \\u00b2\\n' * 1000)\ndef add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return 10 ** 100000\n",  # beyond int's string conversion limit
        "def add(a, b):\n    x = []\n    x.append(x)\n    return x\n",  # a cycle is not a plain value
    ]
    reward = sequence_only()
    scores = reward(prompts=[""] * 4, completions=completions, tests=[ADD_TESTS] * 4)
    assert scores == [1.0, 1.0, 0.0, 0.0], reward.last_reasons


def test_syntax_credit_parses_a_bounded_number_of_prefixes(monkeypatch):
    import rlreward.rewards.code as code_module

    calls = []
    real = code_module._valid_prefix
    monkeypatch.setattr(
        code_module, "_valid_prefix", lambda source: calls.append(len(source)) or real(source)
    )
    valid = syntax_lines("x = 1\n" * 4000)
    assert len(valid) == code_module.MAX_SYNTAX_LINES and all(ok for _, ok in valid)
    assert len(calls) == 1  # the whole judged code is valid: every line is
    calls.clear()
    broken = "x = 1\n" * 2999 + "y = )\n" + "z = 2\n" * 1000
    lines = syntax_lines(broken, max_lines=5000)
    assert [ok for _, ok in lines] == [True] * 2999 + [False] * 1001
    assert len(calls) <= 1 + math.ceil(math.log2(4000)) + 1


def test_syntax_credit_counts_only_the_judged_lines():
    reward = UnitTestReward(per_token=None, syntax_weight=1.0, sandbox=SANDBOX, max_syntax_lines=4)
    code = "def add(a, b):\n    return a + b\n" + "x = (\n" + "y = 1\n" * 10
    out = reward.score([""], [code], [[1]], tests=[ADD_TESTS])
    assert out.components["syntax"].tolist() == [0.75]  # 3 of the first 4 lines; the rest are not judged


def test_reference_solutions_score_one_through_the_judge():
    # Every 8th built-in task here (all of them, and HumanEval's, in the slow test below).
    from rlreward.data import code_tasks

    tasks = code_tasks()[::8]
    assert_all_pass([t.prompt for t in tasks], [t.canonical_solution for t in tasks], tasks)


@pytest.mark.slow
def test_every_reference_solution_scores_one_through_the_judge():
    from rlreward.data import code_tasks, load_humaneval

    tasks = code_tasks()
    assert_all_pass([t.prompt for t in tasks], [t.canonical_solution for t in tasks], tasks)
    problems = list(load_humaneval())
    assert_all_pass([p["prompt"] for p in problems], [p["canonical_solution"] for p in problems], problems)


def assert_all_pass(prompts, bodies, rows):
    reward = UnitTestReward(
        prepend_prompt=True, per_token=None, syntax_weight=0.0, sandbox=SandboxConfig(timeout_s=5)
    )
    get = (lambda r, k: r[k]) if isinstance(rows[0], dict) else getattr
    scores = reward(
        prompts=prompts,
        completions=bodies,
        tests=[get(r, "tests") for r in rows],
        entry_point=[get(r, "entry_point") for r in rows],
    )
    failed = [(get(r, "task_id"), why) for r, s, why in zip(rows, scores, reward.last_reasons) if s != 1.0]
    assert not failed


def test_a_stub_in_the_prompt_is_the_solutions_to_write():
    # No entry point column: the prompt's stub `add` must not shadow the solution's `add` in the judge.
    prompt = 'Complete:\n```python\ndef add(a, b):\n    """Add."""\n    ...\n```'
    reward = sequence_only()
    assert reward(
        prompts=[prompt], completions=["def add(a, b):\n    return a + b\n"], tests=[ADD_TESTS]
    ) == [1.0]
