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
from collections.abc import Mapping, Sequence
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
    return soft_label_potential(answer, {gold: 1.0}, labels)


def soft_label_potential(answer: str, weights: Mapping[str, float], labels: Sequence[str]) -> float:
    """:func:`label_potential` against a distribution over the labels instead of one gold label:
    ``weights[l]`` once the first label ``answer`` names is ``l`` (0 for a label without weight);
    before it names any, the sum over the labels its unfinished last word starts of
    ``weights[l] * share of l spelled``. With ``{gold: 1}`` it is :func:`label_potential`."""
    named = predicted_label(answer, labels)
    if named is not None:
        return float(weights.get(named, 0.0))
    words = re.findall(r"\w+", answer.casefold())
    word = words[-1] if words else ""
    if not word or not answer[-1:].isalnum():
        return 0.0
    return float(
        sum(w * len(word) / len(label) for label, w in weights.items() if label.casefold().startswith(word))
    )


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

    def required_columns(self) -> list[str]:
        return ["label", "labels"]


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

    def required_columns(self) -> list[str]:
        return ["label", "labels"]


class ClassifierLabels(InstantReward):
    """A text classifier's belief as the reward: the probability it gives, for the row's ``text``,
    the label the answer names (0 when the answer names none), so the policy is paid for agreeing with
    a classifier and never reads a gold label. As a sequence score it is :func:`soft_label_potential`
    with the classifier's probabilities; the task wraps it in prefix deltas, so the tokens that write
    a label earn its probability as they are written.

    Args:
        model: a sequence classifier over the labels (``recipes/train_classifier.py`` writes one), a
            folder or Hub id, or a loaded model; its ``id2label`` names must be the dataset's labels
            (case-insensitive).
        tokenizer: the classifier's tokenizer (loaded from ``model`` when that is a string).
        batch_size: texts per forward pass.
        max_length: longest classifier input in tokens (longer texts are cut from the right).
    """

    name = "classifier"

    def __init__(self, model: Any, tokenizer: Any = None, batch_size: int = 32, max_length: int = 128):
        if isinstance(model, str):
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
            model = AutoModelForSequenceClassification.from_pretrained(model)
        if tokenizer is None:
            raise ValueError("ClassifierLabels needs the classifier's tokenizer when given a loaded model.")
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size, self.max_length = batch_size, max_length
        id2label = model.config.id2label
        self.label_names = [str(id2label[i]).casefold() for i in range(len(id2label))]
        self._cache: dict[str, dict[str, float]] = {}  # text -> label -> probability

    def required_columns(self) -> list[str]:
        return ["text", "labels"]

    @torch.no_grad()
    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, the classifier's softmax over its labels (names case-folded); cached per text,
        since prefix deltas score the same message once per prefix."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        device = next(self.model.parameters()).device
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            enc = self.tokenizer(
                chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(device)
            probs = self.model(**enc).logits.float().softmax(-1).cpu()
            for text, row in zip(chunk, probs.tolist()):
                self._cache[text] = dict(zip(self.label_names, row))
        return [self._cache[t] for t in texts]

    def score(self, prompts, completions, completion_ids, text=None, labels=None, **kwargs) -> RewardOutput:
        if text is None or labels is None:
            raise ValueError("the classifier reward needs the dataset's 'text' and 'labels' columns.")
        values = []
        for completion, options, q in zip(completions, labels, self.probabilities(text)):
            unknown = [o for o in options if o.casefold() not in q]
            if unknown:
                raise ValueError(
                    f"the classifier reward's model has no label {unknown[0]!r} (its labels: "
                    f"{', '.join(self.label_names)}); train it on the same labels "
                    "(python recipes/train_classifier.py --dataset <the same data>)."
                )
            weights = {o: q[o.casefold()] for o in options}
            values.append(soft_label_potential(completion_text(completion), weights, options))
        return RewardOutput(sequence=torch.tensor(values, dtype=torch.float32))


def classifier_reward(spec: str, tokenizer: Any, label: int | str) -> InstantReward:
    """``--reward <classifier folder>``: :class:`ClassifierLabels` in prefix deltas (``label`` unused:
    the answer's label picks the class)."""
    return PrefixDeltaReward(ClassifierLabels(spec), TokenizerDecode(tokenizer))


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


def macro_scores(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, float]:
    """Macro recall and macro F1 over the gold labels present (a ``None`` prediction counts as wrong)."""
    recalls, f1s = [], []
    for label in sorted(set(gold)):
        tp = sum(p == label and g == label for p, g in zip(predicted, gold))
        support, claimed = list(gold).count(label), list(predicted).count(label)
        recall = tp / support
        precision = tp / claimed if claimed else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {"eval/macro_recall": mean(recalls), "eval/macro_f1": mean(f1s)}


def classification_metrics(result: Any, context: EvalContext | None = None) -> dict[str, float]:
    """Macro recall and macro F1 of the answers' labels over the gold labels present."""
    gold = [r["label"] for r in result.rows]
    return macro_scores(gold, [predicted_label(r["completion"], r["labels"]) for r in result.rows])


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
    classifier=classifier_reward,
)
