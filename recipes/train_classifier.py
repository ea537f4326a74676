"""Fine-tune a text classifier on labelled texts: the supervised reference point of the
classification recipe, and a reward for it.

    python recipes/train_classifier.py                                  # MiniLM on the built-in topics
    python recipes/train_classifier.py --dataset reviews.csv --text_column text --label_column label

1. data: the classification recipe's own training and held-out split (the chatterbot topics, or
   ``--dataset`` read and split exactly as ``recipes/ppo_classification.py --dataset`` reads it);
2. model: MiniLM-L6 (``minilm-l6``, offline) with a fresh head over the labels, every weight trained
   with cross-entropy on the training texts (Hugging Face ``Trainer``);
3. report, on the held-out texts: accuracy with its 95% bootstrap interval, macro recall and macro F1
   (the recipe's metrics), before (untrained head) and after; ``eval.json`` keeps each item's result.

The folder plugs into the recipe as a reward that needs no gold labels at training time:
``python recipes/ppo_classification.py --reward outputs/topic_classifier`` pays each answer the
probability the classifier gives the label it names, for that message (``ClassifierLabels``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import datasets
import torch
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed
from trl import TrlParser

from rlreward.cli.runner import run_script
from rlreward.stats import paired_bootstrap_ci
from rlreward.tasks.classification import ClassifierLabels, load_data, macro_scores
from rlreward.trainers.pointwise import TRAINING_DEFAULTS, refuse_finished, save_scorer

# ---- defaults of this recipe (a YAML or CLI flags override them) ------------------------
DEFAULTS = dict(
    TRAINING_DEFAULTS,
    output_dir="outputs/topic_classifier",
    num_train_epochs=10,
    learning_rate=1e-4,
    per_device_eval_batch_size=64,
    train_sampling_strategy="random",  # short texts: little padding to save
    remove_unused_columns=True,
)


@dataclass
class ClassifierArguments:
    """What the classifier learns from."""

    model_name_or_path: str = field(
        default="minilm-l6",
        metadata={"help": "Backbone: an rlreward model name, a local folder or a Hub id."},
    )
    dataset: str | None = field(
        default=None,
        metadata={
            "help": "None for the built-in chatterbot topics, or a local .jsonl/.json/.csv/.parquet file."
        },
    )
    text_column: str = field(default="text", metadata={"help": "Column of --dataset with the texts."})
    label_column: str = field(default="label", metadata={"help": "Column of --dataset with the labels."})
    eval_size: float = field(
        default=115,
        metadata={"help": "Held-out rows of --dataset (a count or a fraction); keep the recipe's value."},
    )
    max_length: int = field(default=128, metadata={"help": "Longest input in tokens (cut from the right)."})


def load_split(args: ClassifierArguments) -> datasets.DatasetDict:
    """The recipe's ``train`` / ``eval`` rows (``text``, ``label``, ``labels``)."""
    recipe_args = SimpleNamespace(
        dataset=args.dataset,
        dataset_column=args.text_column,
        reference_column=args.label_column,
        eval_size=int(args.eval_size) if args.eval_size >= 1 else args.eval_size,
    )
    return load_data(recipe_args, None)


def evaluate(reward: ClassifierLabels, rows: datasets.Dataset) -> tuple[dict[str, float], list[float]]:
    """Accuracy, macro recall and macro F1 of the classifier's top label, and each item's correctness."""
    labels = sorted(set(rows["labels"][0]))
    predicted = [max(labels, key=lambda lab: q[lab.casefold()]) for q in reward.probabilities(rows["text"])]
    correct = [float(p == g) for p, g in zip(predicted, rows["label"])]
    ci = paired_bootstrap_ci(correct)
    metrics = {"eval/accuracy": ci.mean, "eval/accuracy_low": ci.low, "eval/accuracy_high": ci.high}
    return {**metrics, **macro_scores(rows["label"], predicted)}, correct


def make_parser() -> TrlParser:
    """``(ClassifierArguments, TrainingArguments)`` with this recipe's defaults; ``--config`` YAML, then flags."""
    parser = TrlParser((ClassifierArguments, TrainingArguments))
    parser.set_defaults_with_config(**DEFAULTS)
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, save and report; returns what ``eval.json`` holds (empty on processes other than the main one)."""
    from transformers import AutoModelForSequenceClassification

    from rlreward.models import load_pretrained, load_tokenizer

    args, config = make_parser().parse_args_and_config(argv)
    out = Path(config.output_dir)
    refuse_finished(out, "classifier")
    data = load_split(args)
    labels = sorted(set(data["train"]["label"]) | set(data["eval"]["label"]))
    missing = sorted(set(labels) - set(data["train"]["label"]))
    if missing:
        raise ValueError(f"classifier: label {missing[0]!r} has no training rows; give it some or drop it.")

    set_seed(config.seed)  # the fresh head is random
    model = load_pretrained(
        args.model_name_or_path,
        AutoModelForSequenceClassification,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        dtype=torch.float32,
    )
    tokenizer = load_tokenizer(args.model_name_or_path)
    if tokenizer.pad_token is None:  # batching needs one (decoder backbones often have none)
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    untrained = ClassifierLabels(model, tokenizer, config.per_device_eval_batch_size, args.max_length)
    before, before_items = evaluate(untrained, data["eval"])

    index = {label: i for i, label in enumerate(labels)}
    train = data["train"].map(
        lambda row: {
            **tokenizer(row["text"], truncation=True, max_length=args.max_length),
            "labels": index[row["label"]],
        },
        remove_columns=data["train"].column_names,
    )
    if config.process_index == 0:
        print(f"{len(train)} training texts, {len(data['eval'])} held out, {len(labels)} labels")
        print(f"before training: {before}")
    trainer = Trainer(
        model=model, args=config, train_dataset=train, data_collator=DataCollatorWithPadding(tokenizer)
    )
    t0 = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t0
    if save_scorer(trainer, tokenizer, out) is None:
        return {}
    trained = ClassifierLabels(
        str(out), batch_size=config.per_device_eval_batch_size, max_length=args.max_length
    )
    after, after_items = evaluate(trained, data["eval"])
    report = {
        "before": before,
        "after": after,
        "items": {"before": {"eval/accuracy": before_items}, "after": {"eval/accuracy": after_items}},
        "texts": list(data["eval"]["text"]),
        "model": args.model_name_or_path,
        "data": args.dataset or "built-in chatterbot topics",
        "labels": labels,
        "train_rows": len(train),
        "eval_rows": len(data["eval"]),
        "steps": trainer.state.global_step,
        "train_seconds": round(train_seconds, 1),
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    print(
        "\n| held-out | before | after |\n|---|---|---|\n"
        + "\n".join(
            f"| {k[5:]} | {before[k]:.3f} | {after[k]:.3f} |"
            for k in ("eval/accuracy", "eval/macro_recall", "eval/macro_f1")
        )
        + f"\naccuracy after: {after['eval/accuracy']:.3f} [{after['eval/accuracy_low']:.3f}, {after['eval/accuracy_high']:.3f}]"
        + f"\n{trainer.state.global_step} steps in {train_seconds:.0f} s. Classifier and eval.json in {out}/; use it "
        f"with python recipes/ppo_classification.py --reward {out}"
    )
    return report


if __name__ == "__main__":
    run_script(main)  # bad input: one line, no traceback
