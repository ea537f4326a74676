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
    head = getattr(model, "classifier", None) or getattr(model, "score", None)
    while head is not None and not isinstance(head, torch.nn.Linear):  # e.g. RoBERTa's classification head
        head = getattr(head, "out_proj", None)
    if head is None or head.bias is None:
        return False
    with torch.no_grad():
        head.bias += delta
    return True
