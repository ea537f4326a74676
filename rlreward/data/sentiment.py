"""Prompts for sentiment steering: openings of movie reviews that the policy continues.

The built-in set (``assets/movie_review_openings.txt``) holds 390 unfinished sentences written for
rlreward: invented titles across genres, viewer and critic voices, about a fifth of them leaning
negative ("I wanted to like this remake, but") so that a positive-sentiment reward has work to do.
IMDB-style data works too: take the first ``prefix_words`` words of each review as the prompt.
"""

from __future__ import annotations

import os
import re
from importlib import resources

import datasets

from rlreward.data.base import DataError, check_prompts, load_table, to_prompt_column, train_eval_split

OPENINGS_ASSET = "movie_review_openings.txt"

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def read_review_openings() -> list[str]:
    """The built-in review openings, in file order (comments and blank lines skipped)."""
    text = resources.files("rlreward.data").joinpath("assets", OPENINGS_ASSET).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def first_words(text: str, n: int) -> str:
    """The first ``n`` whitespace-separated words of ``text`` (HTML line breaks count as spaces)."""
    return " ".join(_HTML_BREAK.sub(" ", text).split()[:n])


def load_sentiment_prompts(
    source: str | os.PathLike | None = None,
    *,
    column: str = "text",
    prefix_words: int | None = None,
    split: str | None = None,
    eval_size: int | float = 64,
    seed: int = 0,
) -> datasets.DatasetDict:
    """Review openings for sentiment RL, split into ``train`` and ``eval``.

    Args:
        source: ``None`` for the built-in openings; else a local file or a Hub dataset name
            (e.g. ``"stanfordnlp/imdb"``, which needs internet).
        column: the column of ``source`` that holds the text (``text`` for IMDB; a ``.txt`` file
            always gives ``prompt``, which is also tried when ``column`` is absent).
        prefix_words: keep only the first N words of each text (IMDB reviews are long; 8 is a
            good opening). ``None`` keeps the whole text.
        split: split of a Hub dataset (default ``train``).
        eval_size: eval rows (int) or fraction (float).
        seed: split seed.

    Returns:
        ``DatasetDict(train, eval)`` with one column, ``prompt``.
    """
    if prefix_words is not None and prefix_words < 1:
        raise DataError(f"prefix_words={prefix_words!r} must be a positive word count or None; pass e.g. 8.")
    if source is None:
        ds = datasets.Dataset.from_dict({"prompt": read_review_openings()})
        task = "sentiment"
    else:
        task = f"sentiment: {source}"
        ds = load_table(source, split=split)
        if column not in ds.column_names and "prompt" in ds.column_names:
            column = "prompt"
        ds = to_prompt_column(ds, column, task)
        ds = ds.select_columns(["prompt"])
    if prefix_words is not None:
        ds = ds.map(lambda row: {"prompt": first_words(row["prompt"], prefix_words)})
    return train_eval_split(check_prompts(ds, task), eval_size, seed)
