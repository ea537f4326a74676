"""Noisy and long prompts, for robustness experiments (``benchmarks/robustness.py``).

* :func:`corrupt_text`: each word is, with probability ``rate``, dropped (a third of the time) or
  given one character typo (two thirds: a swap of two neighbouring letters, a deleted letter, a
  doubled letter or a letter replaced by a keyboard neighbour). Words of one character are only
  dropped; when every word is dropped the last one stays. Deterministic in ``seed``.
* :func:`corrupt_prompts`: the same on a dataset's ``prompt`` column, or on the user turns of its
  ``messages``, row ``i`` seeded by ``(seed, i)`` so that a row's noise does not depend on the others.
* :func:`lengthen_prompts`: plain-text prompts made ``factor`` times longer by putting ``factor - 1``
  other prompts of the same split before each one, one per line (sentiment: several review openings,
  the last one unfinished), chosen by ``seed``.

Evaluation prompts stay clean unless the runner is asked for noisy ones (``--eval_prompt_noise``).
"""

from __future__ import annotations

import random
from typing import Any

from rlreward.data.base import DataError

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    c: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in _KEYBOARD_ROWS
    for i, c in enumerate(row)
}


def _typo(word: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if not letters:
        return word
    i = rng.choice(letters)
    kind = rng.randrange(4)
    if kind == 0 and i + 1 < len(word):  # swap with the next character
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1 and len(word) > 1:  # delete
        return word[:i] + word[i + 1 :]
    if kind == 2:  # double
        return word[:i] + word[i] + word[i:]
    near = _NEIGHBOURS.get(word[i].lower())
    if not near:
        return word[:i] + word[i] + word[i:]
    c = rng.choice(near)
    return word[:i] + (c.upper() if word[i].isupper() else c) + word[i + 1 :]


def corrupt_text(text: str, rate: float, seed: int | tuple[int, ...] = 0) -> str:
    """``text`` with about ``rate`` of its words dropped or misspelt (see the module docstring)."""
    if not 0 <= rate <= 1:
        raise DataError(f"the prompt noise rate must be in [0, 1]; got {rate}.")
    if rate == 0:
        return text
    rng = random.Random(repr(seed))
    words = text.split(" ")
    out = []
    for word in words:
        if word and rng.random() < rate:
            if len(word) == 1 or rng.random() < 1 / 3:
                continue  # dropped
            word = _typo(word, rng)
        out.append(word)
    return " ".join(out) if any(out) else words[-1]  # never an empty prompt


def corrupt_prompts(dataset: Any, rate: float, seed: int = 0) -> Any:
    """The dataset with typos and word drops in its ``prompt`` column or its ``messages``' user turns."""
    if rate == 0:
        return dataset
    if "prompt" in dataset.column_names:
        return dataset.map(
            lambda row, i: {"prompt": corrupt_text(row["prompt"], rate, (seed, i))}, with_indices=True
        )
    if "messages" in dataset.column_names:

        def noisy(row: dict, i: int) -> dict:
            turns = [
                {**m, "content": corrupt_text(m["content"], rate, (seed, i, j))} if m["role"] == "user" else m
                for j, m in enumerate(row["messages"])
            ]
            return {"messages": turns}

        return dataset.map(noisy, with_indices=True)
    raise DataError(
        f"prompt noise needs a 'prompt' or 'messages' column; this dataset has {dataset.column_names}."
    )


def lengthen_prompts(dataset: Any, factor: int, seed: int = 0) -> Any:
    """Each plain-text prompt after ``factor - 1`` other prompts of the same split, one per line."""
    if factor < 1:
        raise DataError(f"the prompt length factor must be a whole number >= 1; got {factor}.")
    if factor == 1:
        return dataset
    if "prompt" not in dataset.column_names:
        raise DataError(
            "longer prompts are built from plain-text 'prompt' columns (sentiment's openings); "
            f"this dataset has {dataset.column_names}: drop --prompt_length_factor."
        )
    n = len(dataset)
    if n < factor:
        raise DataError(
            f"--prompt_length_factor {factor} needs at least {factor} prompts; the split has {n}."
        )
    prompts = list(dataset["prompt"])

    def longer(row: dict, i: int) -> dict:
        rng = random.Random(repr((seed, i)))
        others = rng.sample([j for j in range(n) if j != i], factor - 1)
        return {"prompt": "\n".join([*(prompts[j] for j in others), row["prompt"]])}

    return dataset.map(longer, with_indices=True)


__all__ = ["corrupt_prompts", "corrupt_text", "lengthen_prompts"]
