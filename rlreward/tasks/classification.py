"""Text classification: read a message and a list of labels, answer with one label.

Data: the chatterbot corpus's topics (each utterance labelled by its file: ``rlreward/data/topics.py``;
10 topics, a stratified split of 347 training and 115 held-out messages), or a user's ``--dataset``
with ``text`` and ``label`` columns (``--dataset_column`` / ``--reference_column`` name others; the
label set is every label seen in the data). The policy's answer is pre-filled with ``Topic:`` (an assistant turn the
policy continues), and its label is the first label it names (case-insensitive, whole words).

Rewards: ``correct`` (1 when the answer's label is the gold one, else 0: a sequence score, densified
by ``--densify``) and ``label_prefix`` (instant: the prefix deltas of :func:`label_potential`, so the
tokens that write the gold label, wherever the answer names its first label, get its credit as they
are written, and a token that completes another label takes back what a shared beginning had earned;
the sum is the ``correct`` score, up to a gold label left unfinished at the end).

Metrics: accuracy (per item, with a paired CI), macro recall and macro F1 over the labels, and the
share of answers that name any label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

from rlreward.data.topics import label_order, load_topics, topic_prompt
from rlreward.rewards.base import InstantReward, RewardOutput, completion_text
from rlreward.rewards.process import TokenizerDecode
from rlreward.rewards.shaping import PrefixDeltaReward
from rlreward.tasks.base import EvalContext, Task, mean


def predicted_label(answer: str, labels: Sequence[str]) -> str | None:
    """The label the answer names first (whole words, case-insensitive), or None."""
    text = answer.casefold()
    found = [
        (m.start(), -len(label), label)
        for label in labels
        if (m := re.search(rf"(?<!\w){re.escape(label.casefold())}(?!\w)", text))
    ]
    return min(found)[2] if found else None


def label_potential(answer: str, gold: str, labels: Sequence[str]) -> float:
    """How far ``answer`` has got in naming ``gold`` as its label: 1 once the first label it names is
    the gold one, 0 once it is another; before it names any, the share of the gold label that its
    last (possibly unfinished) word spells, when that word starts the gold label."""
    named = predicted_label(answer, labels)
    if named is not None:
        return float(named == gold)
    words = re.findall(r"\w+", answer.casefold())
    word, target = (words[-1] if words else ""), gold.casefold()
    return len(word) / len(target) if word and target.startswith(word) and answer[-1:].isalnum() else 0.0


class CorrectLabel(InstantReward):
    """1 when the answer names the gold ``label`` first among ``labels`` (the row's columns), else 0."""

    name = "correct"

    def score(self, prompts, completions, completion_ids, label=None, labels=None, **kwargs) -> RewardOutput:
        if label is None or labels is None:
            raise ValueError("the 'correct' reward needs the dataset's 'label' and 'labels' columns.")
        values = [
            float(predicted_label(completion_text(c), options) == gold)
            for c, gold, options in zip(completions, label, labels)
        ]
        return RewardOutput(sequence=torch.tensor(values, dtype=torch.float32))


class LabelPotential(InstantReward):
    """The sequence score behind ``label_prefix`` (:func:`label_potential` of the whole answer: 1 when
    it names the gold label first); its prefix deltas are the per-token rewards."""

    name = "label_prefix"

    def score(self, prompts, completions, completion_ids, label=None, labels=None, **kwargs) -> RewardOutput:
        if label is None or labels is None:
            raise ValueError("the 'label_prefix' reward needs the dataset's 'label' and 'labels' columns.")
        values = [
            label_potential(completion_text(c), gold, options)
            for c, gold, options in zip(completions, label, labels)
        ]
        return RewardOutput(sequence=torch.tensor(values, dtype=torch.float32))


ANSWER_PREFIX = "Topic:"
"""The policy's answer starts here: the prompt's assistant turn is pre-filled with it, so the first
words the policy writes are its label (SmolLM2-Instruct otherwise answers "This message is about a
topic" and names none)."""


def as_messages(data: Any) -> Any:
    """The ``prompt`` column as chat messages: the user's instruction, then the pre-filled answer."""

    def to_chat(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "messages": [
                {"role": "user", "content": row["prompt"]},
                {"role": "assistant", "content": ANSWER_PREFIX},
            ]
        }

    return data.map(to_chat).remove_columns("prompt")


def load_data(args: Any, options: Any) -> Any:
    if not args.dataset:
        return as_messages(load_topics())
    from datasets import Dataset

    from rlreward.data.base import load_table, train_eval_split, validate_columns

    text_column, label_column = args.dataset_column or "text", args.reference_column or "label"
    table = load_table(args.dataset)
    fixes = {
        text_column: "pass the column with the texts as --dataset_column <name>",
        label_column: "pass the column with the labels as --reference_column <name>",
    }
    validate_columns(table, [text_column, label_column], f"classification: {args.dataset}", fixes)
    labels = sorted({str(v) for v in table[label_column]})
    if len(labels) < 2:
        raise ValueError(
            f"classification: {args.dataset} has {len(labels)} distinct label(s); give at least 2."
        )
    rows = []
    for t, y in zip(table[text_column], table[label_column]):
        order = label_order(labels, str(t))
        rows.append({"prompt": topic_prompt(str(t), order), "text": str(t), "label": str(y), "labels": order})
    return as_messages(train_eval_split(Dataset.from_list(rows), args.eval_size, seed=0))


def classification_items(result: Any, context: EvalContext | None = None) -> dict[str, list[float]]:
    """Per item: whether the answer's label is the gold one, and whether it names any label."""
    predicted = [predicted_label(r["completion"], r["labels"]) for r in result.rows]
    return {
        "eval/accuracy": [float(p == r["label"]) for p, r in zip(predicted, result.rows)],
        "eval/answered": [float(p is not None) for p in predicted],
    }


def classification_metrics(result: Any, context: EvalContext | None = None) -> dict[str, float]:
    """Macro recall and macro F1 over the gold labels present (an unanswered item counts as wrong)."""
    gold = [r["label"] for r in result.rows]
    predicted = [predicted_label(r["completion"], r["labels"]) for r in result.rows]
    recalls, f1s = [], []
    for label in sorted(set(gold)):
        tp = sum(p == label and g == label for p, g in zip(predicted, gold))
        support, claimed = gold.count(label), predicted.count(label)
        recall = tp / support
        precision = tp / claimed if claimed else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {"eval/macro_recall": mean(recalls), "eval/macro_f1": mean(f1s)}


TASK = Task(
    name="classification",
    title="PPO text classification (instant label-prefix reward)",
    load_data=load_data,
    rewards={
        "correct": lambda tokenizer: CorrectLabel(),
        "label_prefix": lambda tokenizer: PrefixDeltaReward(LabelPotential(), TokenizerDecode(tokenizer)),
    },
    default_reward=("label_prefix",),
    item_metrics=classification_items,
    metrics=classification_metrics,
    reference=lambda row: row["label"],
)
