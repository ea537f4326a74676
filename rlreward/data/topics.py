"""Topic classification from the chatterbot corpus: each utterance labelled by the file it comes from.

The corpus files are topics (``food.yml``, ``politics.yml``...); every distinct turn of a file's
conversations becomes one example whose ``label`` is the file's topic. Turns that occur in more than
one file (generic replies) are dropped, as are very short or very long ones (fewer than 3 words, more
than 200 characters: code listings). Large topics are capped (``per_label``, a seeded sample), so the
labels stay balanced, and the split is stratified: each topic holds out the same share.

Columns: ``prompt`` (the instruction with the label list, then the message), ``text`` (the
message), ``label`` (the gold topic) and ``labels`` (every topic, in the prompt's order). Each prompt
lists the topics in its own seeded order (``shuffle_labels``): with one fixed order a small policy
answers with the list's first topic whatever the message, so that answer is right for one topic in
ten and there is nothing for RL to contrast.
"""

from __future__ import annotations

import random
from typing import Any

import datasets

from rlreward.data.base import DataError
from rlreward.data.dialogue import read_conversations

DEFAULT_TOPICS = (
    "ai", "coding", "emotion", "food", "literature", "money", "movies", "politics", "science", "sports",
)  # fmt: skip


def topic_prompt(text: str, labels: tuple[str, ...] | list[str]) -> str:
    """The instruction, the labels, then the message."""
    return (
        f"Which topic is this message about? Topics: {', '.join(labels)}.\n"
        f"Message: {text}\nAnswer with the topic only."
    )


def label_order(labels: tuple[str, ...] | list[str], text: str, seed: int = 0) -> list[str]:
    """``labels`` in an order drawn from ``text`` and ``seed`` alone (the same message, the same order)."""
    order = list(labels)
    random.Random(f"{seed}:{text}").shuffle(order)
    return order


def topic_examples(topics: tuple[str, ...] | list[str] = DEFAULT_TOPICS) -> dict[str, list[str]]:
    """Distinct, single-topic utterances of each topic's corpus file, in corpus order."""
    seen: dict[str, set[str]] = {}
    order: dict[str, list[str]] = {t: [] for t in topics}
    for topic, turns in read_conversations(list(topics)):
        for turn in turns:
            text = " ".join(turn.split())
            if len(text.split()) < 3 or len(text) > 200:
                continue
            key = text.casefold()
            if key not in seen:
                order[topic].append(text)
            seen.setdefault(key, set()).add(topic)
    return {t: [x for x in texts if len(seen[x.casefold()]) == 1] for t, texts in order.items()}


def load_topics(
    topics: tuple[str, ...] | list[str] = DEFAULT_TOPICS,
    *,
    per_label: int = 60,
    eval_fraction: float = 0.25,
    seed: int = 0,
    shuffle_labels: bool = True,
) -> datasets.DatasetDict:
    """Stratified ``train`` / ``eval`` splits of :func:`topic_examples`, at most ``per_label`` per topic.

    ``shuffle_labels``: each prompt lists the topics in its own order (:func:`label_order`); ``False``
    lists them in ``topics``'s order everywhere.
    """
    if len(topics) < 2:
        raise DataError(f"topic classification needs at least two topics, got {list(topics)}.")
    if not 0 < eval_fraction < 1:
        raise DataError(f"eval_fraction={eval_fraction!r} must be in (0, 1); pass e.g. 0.25.")
    rng = random.Random(seed)
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "eval": []}
    labels = list(topics)
    for topic, texts in topic_examples(topics).items():
        texts = rng.sample(texts, min(per_label, len(texts)))
        if len(texts) < 4:
            raise DataError(f"topic {topic!r} has {len(texts)} usable utterances; drop it from the topics.")
        cut = max(1, round(eval_fraction * len(texts)))
        for split, part in (("eval", texts[:cut]), ("train", texts[cut:])):
            for t in part:
                order = label_order(labels, t, seed) if shuffle_labels else labels
                splits[split].append(
                    {"prompt": topic_prompt(t, order), "text": t, "label": topic, "labels": order}
                )
    for rows in splits.values():
        rng.shuffle(rows)
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})
