"""Tasks: one module each, a :class:`~rlreward.tasks.base.Task` record named ``TASK`` in it.

``TASKS`` names them explicitly (no discovery): ``sentiment``, ``qa``, ``translation``, ``codegen``,
``dialogue``, ``arithmetic``, ``classification``. A new task is one module here, one YAML under ``recipes/configs/`` and a
launcher in ``recipes/`` (``docs/tasks.md``).
"""

from rlreward.tasks.base import EvalContext, Task, own_dataset

TASK_MODULES = {
    "sentiment": "rlreward.tasks.sentiment",
    "qa": "rlreward.tasks.qa",
    "translation": "rlreward.tasks.translation",
    "codegen": "rlreward.tasks.codegen",
    "dialogue": "rlreward.tasks.dialogue",
    "arithmetic": "rlreward.tasks.arithmetic",
    "classification": "rlreward.tasks.classification",
}


def get_task(name: str) -> Task:
    """The task called ``name`` (its module is imported on first use: tasks pull in their rewards)."""
    import importlib

    if name not in TASK_MODULES:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_MODULES)}.")
    return importlib.import_module(TASK_MODULES[name]).TASK


__all__ = ["TASK_MODULES", "EvalContext", "Task", "get_task", "own_dataset"]
