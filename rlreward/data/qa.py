"""Question answering: chatterbot trivia, or your own SQuAD-style data.

Built-in rows come from the chatterbot corpus's ``trivia.yml`` (and optionally other files whose
question/answer pairs are factual): ``prompt`` is the question, ``answers`` every gold answer seen
for it. Questions are deduplicated case- and space-insensitively, merging their answers.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import datasets

from rlreward.data.base import DataError, check_prompts, load_table, train_eval_split, validate_columns
from rlreward.data.dialogue import read_conversations

DEFAULT_QA_CATEGORIES = ("trivia",)


def trivia_rows(categories: tuple[str, ...] | list[str] = DEFAULT_QA_CATEGORIES) -> list[dict[str, Any]]:
    """Question/answer rows from the first two turns of each chatterbot conversation in ``categories``."""
    by_question: dict[str, dict[str, Any]] = {}
    for _, turns in read_conversations(list(categories)):
        if len(turns) < 2:
            continue
        question, answer = turns[0], turns[1]
        row = by_question.setdefault(
            " ".join(question.split()).casefold(), {"prompt": question, "answers": []}
        )
        if answer.casefold() not in {a.casefold() for a in row["answers"]}:
            row["answers"].append(answer)
    return list(by_question.values())


def answer_texts(value: Any) -> list[str]:
    """Gold answers as a list of strings: from SQuAD's ``{"text": [...]}``, a list, or one string."""
    if isinstance(value, dict):
        value = value.get("text", [])
    if isinstance(value, str):
        value = [value]
    if value is None:
        return []
    texts = [str(v).strip() for v in value if v is not None and str(v).strip()]
    return list(dict.fromkeys(texts))  # SQuAD repeats an answer once per annotator


def squad_prompt(context: str, question: str) -> str:
    """The prompt for a reading-comprehension row: the passage, then the question."""
    return f"{context.strip()}\n\nQuestion: {question.strip()}"


def load_qa(
    source: str | os.PathLike | None = None,
    *,
    categories: tuple[str, ...] | list[str] = DEFAULT_QA_CATEGORIES,
    question_column: str = "question",
    context_column: str | None = "context",
    answers_column: str = "answers",
    split: str | None = None,
    eval_size: int | float = 0.1,
    seed: int = 0,
) -> datasets.DatasetDict:
    """Questions with gold answers, split into ``train`` and ``eval``.

    Args:
        source: ``None`` for chatterbot trivia; else a local file or Hub dataset (``"rajpurkar/squad"``)
            with a question column, an answers column (SQuAD's ``{"text": [...]}``, a list or a string)
            and optionally a context column.
        categories: chatterbot files for the built-in set (``("trivia", "history")``...).
        question_column / context_column / answers_column: source column names; set
            ``context_column=None`` for closed-book data. A missing context column is an error only
            when you named it explicitly (i.e. changed it from ``"context"``).
        split: split of a Hub dataset (default ``train``).
        eval_size: eval rows (int) or fraction (float).
        seed: split seed.

    Rows without any answer (SQuAD v2's unanswerable questions) are dropped with a warning that
    counts them: they cannot be scored by exact match.

    Returns:
        ``DatasetDict(train, eval)`` with ``prompt`` (question, or passage + ``Question: ...``) and
        ``answers`` (list of str); user data also keeps its ``question`` and ``context`` columns.
    """
    if source is None:
        ds = datasets.Dataset.from_list(trivia_rows(categories))
        return train_eval_split(check_prompts(ds, "qa"), eval_size, seed)
    task = f"qa: {source}"
    ds = load_table(source, split=split)
    flags = {question_column: "--dataset_column", answers_column: "--reference_column"}
    validate_columns(
        ds,
        [question_column, answers_column],
        task,
        {column: f"pass the column that holds it with {flag} <name>" for column, flag in flags.items()},
    )
    if context_column is not None and context_column not in ds.column_names:
        if context_column != "context":
            validate_columns(
                ds, [context_column], task, {context_column: "pass --context_column <name> or none"}
            )
        context_column = None
    check_prompts(ds, task, question_column)

    def to_row(row: dict[str, Any]) -> dict[str, Any]:
        question = str(row[question_column])
        context = str(row[context_column] or "") if context_column else ""
        return {
            "prompt": squad_prompt(context, question) if context.strip() else question.strip(),
            "answers": answer_texts(row[answers_column]),
            "question": question,
            "context": context,
        }

    replaced = {"prompt", "answers", "question", "context", question_column, answers_column, context_column}
    drop = [c for c in ds.column_names if c in replaced]
    ds = ds.map(to_row, remove_columns=drop)
    unanswered = sum(1 for answers in ds["answers"] if not answers)
    if unanswered:
        warnings.warn(f"{task}: dropped {unanswered} of {len(ds)} rows with no gold answer.", stacklevel=2)
        ds = ds.filter(lambda row: len(row["answers"]) > 0)
    if len(ds) == 0:
        raise DataError(f"{task}: no row has a gold answer in {answers_column!r}; check --reference_column.")
    first = ["prompt", "answers", "question", "context"]
    ds = ds.select_columns(first + [c for c in ds.column_names if c not in first])
    return train_eval_split(ds, eval_size, seed)
