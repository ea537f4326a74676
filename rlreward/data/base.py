"""Shared plumbing for the task loaders: reading local files and Hub datasets, column checks, splits.

Every loader in :mod:`rlreward.data` returns a :class:`datasets.Dataset` (or a ``DatasetDict`` with
``train`` and ``eval``) whose columns follow one convention:

* ``prompt``: the text the policy continues or answers (a plain string);
* ``messages``: for conversational tasks, the same prompt as a chat (``[{"role", "content"}, ...]``,
  ending with a ``user`` turn), ready for the policy's chat template;
* reference columns when the task has them: ``reference`` (str), ``answers`` (list of str),
  ``tests`` / ``entry_point`` / ``task_id`` (code).

Wrong input gets one :class:`DataError` sentence naming the input, what was found and the fix.
Empty prompts are an error, never silently dropped: :func:`check_prompts` reports the first bad row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets

from rlreward.sources import written_as_path

LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".txt", ".parquet")


class DataError(ValueError):
    """A dataset is missing, unreadable or has the wrong columns; the message says how to fix it."""


def column_flag(column: str) -> str:
    """The recipe flag that names the source column for ``column``: ``--dataset_column`` for the prompt,
    ``--reference_column`` for what completions are checked against."""
    return "--dataset_column" if column in ("prompt", "messages", "text") else "--reference_column"


def validate_columns(
    ds: datasets.Dataset, required: Sequence[str], task: str, fixes: dict[str, str] | None = None
) -> None:
    """Raise a :class:`DataError` unless every column in ``required`` is present in ``ds``.

    Args:
        ds: the dataset to check.
        required: column names the task needs.
        task: name used in the message (``"sentiment"``, ``"qa: my_file.jsonl"``...).
        fixes: per column, the remedy to suggest; defaults to the recipe flag ``--<column>_column``.

    Example:
        >>> ds = datasets.Dataset.from_dict({"text": ["a"]})
        >>> validate_columns(ds, ["prompt"], "sentiment")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rlreward.data.base.DataError: sentiment: the dataset has no 'prompt' column (columns present: ['text']); ...
    """
    present = list(ds.column_names)
    for column in required:
        if column not in present:
            fix = (fixes or {}).get(column) or (
                f"pass the column that holds it with {column_flag(column)} <name> "
                f"or rename it with ds.rename_column(<name>, {column!r})"
            )
            raise DataError(
                f"{task}: the dataset has no {column!r} column (columns present: {present}); {fix}."
            )


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    return False


def check_prompts(ds: datasets.Dataset, task: str, column: str = "prompt") -> datasets.Dataset:
    """Raise a :class:`DataError` naming the first row whose ``column`` is None or blank; else return ``ds``.

    rlreward raises rather than drops: a prompt file with holes is usually a broken export, and a
    silent drop would change the dataset size a run reports. Filter the rows yourself
    (``ds.filter(lambda r: r["prompt"])``) when dropping is what you want.
    """
    validate_columns(ds, [column], task)
    values = ds[column]
    bad = [i for i, value in enumerate(values) if _is_empty(value)]
    if bad:
        first = bad[0]
        raise DataError(
            f"{task}: {len(bad)} of {len(ds)} rows have an empty {column!r} (first: row {first}, "
            f"value {values[first]!r}); fill them in or drop them with ds.filter(...) before loading."
        )
    return ds


def train_eval_split(ds: datasets.Dataset, eval_size: int | float, seed: int = 0) -> datasets.DatasetDict:
    """Shuffle ``ds`` with ``seed`` and cut it into ``train`` and ``eval``; the same seed gives the same cut.

    Args:
        ds: rows to split.
        eval_size: number of eval rows (int), or a fraction in ``(0, 1)`` (float). ``0`` gives an empty eval.
        seed: shuffling seed.

    Returns:
        ``DatasetDict(train=..., eval=...)``.
    """
    n = len(ds)
    if isinstance(eval_size, float) and not isinstance(eval_size, bool) and 0 < eval_size < 1:
        eval_count = max(1, round(eval_size * n))
    elif isinstance(eval_size, int) and eval_size >= 0:
        eval_count = eval_size
    else:
        raise DataError(
            f"eval_size={eval_size!r} is not a row count >= 0 or a fraction in (0, 1); pass e.g. 64 or 0.1."
        )
    if eval_count >= n:
        raise DataError(
            f"eval_size={eval_size!r} leaves no training rows out of {n}; pass a smaller eval_size (at most {n - 1})."
        )
    if eval_count == 0:
        return datasets.DatasetDict(train=ds, eval=ds.select([]))
    parts = ds.train_test_split(test_size=eval_count, shuffle=True, seed=seed)
    return datasets.DatasetDict(train=parts["train"], eval=parts["test"])


def dedupe(rows: list[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    """Keep the first row for each distinct value of the ``key`` columns (compared case- and space-insensitively)."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for row in rows:
        signature = tuple(" ".join(str(row[k]).split()).casefold() for k in key)
        if signature not in seen:
            seen.add(signature)
            kept.append(row)
    return kept


def looks_like_path(source: str) -> bool:
    """Whether ``source`` names a local file rather than a Hub dataset."""
    return source.lower().endswith(LOCAL_SUFFIXES) or written_as_path(source)


def read_local_file(path: str | os.PathLike) -> datasets.Dataset:
    """Read a ``.jsonl`` / ``.json`` / ``.csv`` / ``.parquet`` table, or a ``.txt`` file of one prompt per line.

    Blank lines of a ``.txt`` or ``.jsonl`` file are skipped; the column of a ``.txt`` file is ``prompt``.
    A file that is empty, not UTF-8, or has a broken row is a :class:`DataError` naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{str(path)!r} is not an existing file; check the path (relative paths start at {os.getcwd()})."
        )
    suffix = path.suffix.lower()
    if suffix not in LOCAL_SUFFIXES:
        raise DataError(
            f"{str(path)!r} has an unsupported suffix {suffix!r}; use one of {', '.join(LOCAL_SUFFIXES)}."
        )
    if suffix == ".parquet":
        try:
            return datasets.Dataset.from_parquet(str(path))
        except Exception as error:  # pyarrow raises several types; one message says which file failed
            raise DataError(
                f"could not read {str(path)!r} as parquet ({type(error).__name__}: {error})."
            ) from error
    text = _read_text(path)
    if not text.strip():
        raise DataError(f"{str(path)!r} is empty; give it one row per line (see docs/data.md).")
    lines = text.splitlines()
    if suffix == ".txt":
        return datasets.Dataset.from_dict({"prompt": [line.strip() for line in lines if line.strip()]})
    if suffix == ".jsonl":
        rows = [_json_row(path, i, line) for i, line in enumerate(lines, 1) if line.strip()]
    elif suffix == ".json":
        rows = _json_table(path, text)
    else:
        rows = _csv_rows(path, text)
    try:
        return datasets.Dataset.from_list(rows)
    except Exception as error:  # arrow cannot give one type to a column
        raise DataError(
            f"could not make a table of {str(path)!r} ({type(error).__name__}: {error}); give each column "
            "the same type in every row."
        ) from error


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(
            f"{str(path)!r} line {line} is not UTF-8 (byte {data[error.start]:#04x}); save the file as UTF-8."
        ) from error


def _json_row(path: Path, number: int, line: str) -> dict[str, Any]:
    import json

    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{str(path)!r} line {number} is not valid JSON ({error.msg}, column {error.colno}); fix or remove it."
        ) from error
    if not isinstance(row, dict):
        raise DataError(f"{str(path)!r} line {number} is a {type(row).__name__}, not an object of columns.")
    return row


def _json_table(path: Path, text: str) -> list[dict[str, Any]]:
    """A ``.json`` file: a list of row objects, or an object of equal-length column lists."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{str(path)!r} is not valid JSON at line {error.lineno} ({error.msg}); fix the file, or use one "
            "object per line in a .jsonl file."
        ) from error
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        sizes = {len(v) for v in value.values()}
        if len(sizes) > 1:
            raise DataError(f"{str(path)!r}: its column lists have different lengths {sorted(sizes)}.")
        return [dict(zip(value, row)) for row in zip(*value.values())]
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return value
    raise DataError(f"{str(path)!r} must hold a list of row objects or an object of column lists.")


def _csv_rows(path: Path, text: str) -> list[dict[str, Any]]:
    import csv
    import io

    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader)
        rows = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{str(path)!r} line {reader.line_num} has {len(row)} fields where the header has "
                    f"{len(header)}; quote fields that hold commas."
                )
            rows.append(dict(zip(header, row)))
    except csv.Error as error:
        raise DataError(
            f"{str(path)!r} line {reader.line_num} is not valid CSV ({error}); fix that line."
        ) from error
    if not rows:
        raise DataError(f"{str(path)!r} has a header but no rows; add rows below it.")
    for column in header:  # numbers as numbers, as pandas would read them
        for kind in (int, float):
            try:
                values = [kind(row[column]) for row in rows]
            except ValueError:
                continue
            for row, value in zip(rows, values):
                row[column] = value
            break
    return rows


LOCAL_ALTERNATIVE = f"a local {'/'.join(LOCAL_SUFFIXES)} file"


def load_hub(
    name: str, split: str = "train", alternative: str = LOCAL_ALTERNATIVE, **kwargs: Any
) -> datasets.Dataset:
    """``datasets.load_dataset(name, split=split)`` with one clear sentence when it fails (offline, typo).

    ``alternative`` names what the caller could pass instead, for the message.
    """
    try:
        return datasets.load_dataset(name, split=split, **kwargs)
    except Exception as error:  # ConnectionError, DatasetNotFoundError, ValueError for a bad split...
        reason = " ".join(str(error).split())[:200]
        raise DataError(
            f"could not load {name!r} (split {split!r}) from the Hugging Face Hub ({type(error).__name__}: {reason}); "
            f"check the name, the split and your internet connection, or pass {alternative} instead."
        ) from error


def load_table(
    source: str | os.PathLike, split: str | None = None, alternative: str = LOCAL_ALTERNATIVE, **kwargs: Any
) -> datasets.Dataset:
    """Read ``source``: a local file (see :func:`read_local_file`) or a Hub dataset name (split default ``train``)."""
    source = str(source)
    if looks_like_path(source):
        return read_local_file(source)
    return load_hub(source, split=split or "train", alternative=alternative, **kwargs)


def prompt_key(columns: Sequence[str]) -> str | None:
    """The column trainers generate from: ``prompt``, else chat ``messages``; None when neither exists."""
    return "prompt" if "prompt" in columns else "messages" if "messages" in columns else None


def messages_to_text(messages: list[dict[str, str]]) -> str:
    """The content of the last ``user`` message: the text a chat prompt asks."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def is_chat(value: Any) -> bool:
    """Whether ``value`` is a chat: a non-empty list of ``{"role", "content"}`` dicts."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and "role" in value[0]


def to_prompt_column(ds: datasets.Dataset, column: str, task: str) -> datasets.Dataset:
    """Make ``column`` the ``prompt`` column of ``ds``; a chat column becomes ``messages`` plus its user text.

    An existing ``prompt`` column other than ``column`` is replaced. Prompts are then checked non-empty.
    """
    validate_columns(
        ds, [column], task, {column: "pass the column that holds the prompts with --dataset_column <name>"}
    )
    if len(ds) and is_chat(ds[0][column]):
        if column != "messages" and "messages" in ds.column_names:
            ds = ds.remove_columns("messages")
        ds = ds.map(lambda row: {"messages": row[column], "prompt": messages_to_text(row[column])})
        if column not in ("messages", "prompt"):
            ds = ds.remove_columns(column)
    elif column != "prompt":
        if "prompt" in ds.column_names:
            ds = ds.remove_columns("prompt")
        ds = ds.rename_column(column, "prompt")
    return check_prompts(ds, task)
