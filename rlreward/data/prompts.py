"""One entry point for prompts: a built-in task name, a local file, or a Hub dataset name."""

from __future__ import annotations

import os
from collections.abc import Callable

import datasets

from rlreward.data.base import LOCAL_ALTERNATIVE, DataError, load_table, looks_like_path, to_prompt_column
from rlreward.data.code import load_code_tasks, load_humaneval
from rlreward.data.dialogue import load_dialogue
from rlreward.data.qa import load_qa
from rlreward.data.sentiment import load_sentiment_prompts
from rlreward.data.translation import load_translation


def _whole(ds: datasets.Dataset) -> datasets.DatasetDict:
    return datasets.DatasetDict(train=ds, eval=ds.select([]))


# Built-in tasks by name. Each returns DatasetDict(train, eval) with the default seed and sizes.
BUILTIN_TASKS: dict[str, Callable[[], datasets.DatasetDict]] = {
    "sentiment": load_sentiment_prompts,
    "dialogue": load_dialogue,
    "qa": load_qa,
    "translation_de": lambda: load_translation("de"),
    "translation_fr": lambda: load_translation("fr"),
    "code": load_code_tasks,
    "humaneval": lambda: _whole(load_humaneval()),
}


def load_prompts(
    source: str | os.PathLike, column: str = "prompt", split: str | None = None
) -> datasets.Dataset:
    """Load prompts from a built-in task, a local file or the Hugging Face Hub.

    Args:
        source: a name in :data:`BUILTIN_TASKS` (``"sentiment"``, ``"dialogue"``, ``"qa"``,
            ``"translation_de"``, ``"translation_fr"``, ``"code"``, ``"humaneval"``); a local
            ``.jsonl`` / ``.json`` / ``.csv`` / ``.parquet`` table or ``.txt`` file (one prompt per
            line); or a Hub dataset name such as ``"stanfordnlp/imdb"``.
        column: the column of a file or Hub dataset that holds the prompts; it becomes ``prompt``.
            A column of chats (lists of ``{"role", "content"}``) becomes ``messages`` plus a
            ``prompt`` holding its last user message. Other columns are kept. Ignored for built-ins.
        split: for built-ins, ``"train"`` or ``"eval"`` of the default split (``None``: both);
            for the Hub, the split to load (``None``: ``"train"``); ignored for local files.

    Returns:
        A ``Dataset`` with a non-empty string ``prompt`` column (see :mod:`rlreward.data.base`).

    Raises:
        DataError: unknown split, missing column, empty prompts, unreadable file or failed download.
    """
    name = str(source)
    if name in BUILTIN_TASKS and not looks_like_path(name):
        parts = BUILTIN_TASKS[name]()
        if split is None:
            return datasets.concatenate_datasets([parts["train"], parts["eval"]])
        if split not in parts:
            raise DataError(
                f"built-in task {name!r} has splits {list(parts)}, not {split!r}; pass one of them or None."
            )
        return parts[split]
    alternative = f"a built-in task name ({', '.join(BUILTIN_TASKS)}) or {LOCAL_ALTERNATIVE}"
    return to_prompt_column(
        load_table(name, split=split, alternative=alternative), column, f"prompts: {name}"
    )
