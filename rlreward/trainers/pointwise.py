"""Pointwise training of a one-logit classifier head: each row a text and a target in [0, 1].

Used by ``recipes/train_reward_model.py --objective pointwise`` (rewards from logged user feedback)
and ``recipes/train_prm.py`` (a process reward model: each row a solution prefix, the target whether
its last step is right). The loss is sigmoid cross-entropy, ``BCEWithLogits(score, target)``, with
positives weighted by ``pos_weight``; the score is then the log-odds of a positive target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import torch
import torch.nn.functional as F
from transformers import Trainer

from rlreward.rewards.classifier import reward_model_text


def tokenize_rows(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    targets: Sequence[float],
    tokenizer: Any,
    include_prompt: bool,
    max_length: int,
) -> tuple[datasets.Dataset, int]:
    """``input_ids`` (the text ``ClassifierReward(include_prompt=...)`` scores, with the tokenizer's
    special tokens), ``labels`` (the target) and ``length``; rows over ``max_length`` tokens are
    dropped, never truncated. Returns the rows and how many were dropped."""
    kept, dropped = [], 0
    for prompt, completion, target in zip(prompts, completions, targets):
        ids = tokenizer(reward_model_text(prompt, completion, include_prompt), add_special_tokens=True)[
            "input_ids"
        ]
        if len(ids) > max_length:
            dropped += 1
            continue
        kept.append({"input_ids": ids, "labels": float(target), "length": len(ids)})
    return datasets.Dataset.from_list(kept), dropped


class PointwiseTrainer(Trainer):
    """Sigmoid cross-entropy of the model's single logit against the row's target (0/1 or soft),
    positives weighted by ``pos_weight``. Rows come from :func:`tokenize_rows`."""

    def __init__(self, *args: Any, pos_weight: float = 1.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pos_weight = pos_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        targets = inputs.pop("labels").float()
        inputs.pop("length", None)
        logits = model(**inputs).logits[:, 0].float()
        weight = torch.tensor(self.pos_weight, device=logits.device)
        loss = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=weight)
        return (loss, logits) if return_outputs else loss


def shift_score_bias(model: Any, delta: float) -> bool:
    """Add ``delta`` to the bias of the model's one-logit head; False when the head has no bias.

    Weighting positives by ``w`` moves the loss's optimal logit to ``log-odds + log(w)``, so
    ``shift_score_bias(model, -log(w))`` after training makes the score the log-odds again."""
    head = getattr(model, "classifier", None)
    if head is None:
        head = getattr(model, "score", None)
    while head is not None and not isinstance(head, torch.nn.Linear):  # e.g. RoBERTa's classification head
        head = getattr(head, "out_proj", None)
    if head is None or head.bias is None:
        return False
    with torch.no_grad():
        head.bias += delta
    return True


TRAINING_DEFAULTS = dict(
    per_device_train_batch_size=16,
    learning_rate=1e-4,
    lr_scheduler_type="linear",
    warmup_steps=10,
    logging_steps=10,
    save_strategy="no",
    eval_strategy="no",
    report_to="none",
    train_sampling_strategy="group_by_length",  # batches of similar length: a third of the padding on CPU
    remove_unused_columns=False,  # keeps the "length" column the sampler reads; the collator ignores it
    seed=0,
    activation_checkpointing=False,  # small models: it only costs time (TRL turns it on by default)
    bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),  # TRL's default bf16=True fails on CPU
)
"""The training arguments the reward-model recipes share (each adds its model, output and lengths)."""


def load_scorer(
    name: str, label: str, include_prompt: bool, batch_size: int, dtype: torch.dtype = torch.float32
) -> tuple[Any, Any, Any]:
    """A backbone with a fresh one-logit head named ``label``, its tokenizer (with a pad token), and the
    untrained model as a :class:`~rlreward.rewards.classifier.ClassifierReward`. The model's config
    records ``include_prompt``, which RL recipes read to score with it the way it was trained."""
    from transformers import AutoModelForSequenceClassification

    from rlreward.models import load_pretrained, load_tokenizer
    from rlreward.rewards.classifier import ClassifierReward

    model = load_pretrained(name, AutoModelForSequenceClassification, num_labels=1, dtype=dtype)
    tokenizer = load_tokenizer(name)
    if tokenizer.pad_token is None:  # batching needs one; ClassifierReward makes the same choice
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.id2label, model.config.label2id = {0: label}, {label: 0}
    model.config.rlreward_include_prompt = include_prompt
    untrained = ClassifierReward(
        model, tokenizer, include_prompt=include_prompt, per_token=None, batch_size=batch_size
    )
    return model, tokenizer, untrained


def save_scorer(trainer: Any, tokenizer: Any, out: Any, finish: Any = None) -> Any:
    """Unwrap the trained model (LoRA merged: a plain classifier folder, loadable without PEFT), apply
    ``finish(model)`` if given, and save it with the tokenizer to ``out`` on the main process.
    Returns ``finish``'s result, or None on the other processes."""
    from pathlib import Path

    from peft import PeftModel

    trained = trainer.accelerator.unwrap_model(trainer.model)
    if isinstance(trained, PeftModel):
        trained = trained.merge_and_unload()
    result = finish(trained) if finish is not None else True
    trainer.accelerator.wait_for_everyone()
    if not trainer.accelerator.is_main_process:
        return None
    Path(out).mkdir(parents=True, exist_ok=True)
    trained.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return result


def refuse_finished(out: Any, what: str) -> None:
    """A ``ValueError`` naming the fix when ``out`` already holds a finished run (its ``eval.json``):
    a run never overwrites another's results."""
    from pathlib import Path

    if (Path(out) / "eval.json").exists():
        raise ValueError(
            f"{out} already holds a trained {what}; pass another --output_dir (nothing is overwritten)."
        )
