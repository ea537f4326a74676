"""Train a reward model on preference pairs with TRL's RewardTrainer; RL recipes use it as ``--reward <folder>``.

The algorithm, as run by default:

1. pairs: chatterbot dialogue (1,060 train, 118 held out), where the real next reply (``chosen``)
   beats a real reply from another conversation (``rejected``); or ``--dataset`` with columns
   ``chosen``, ``rejected`` and, optionally, ``prompt`` (plain text or chat messages; chats without a
   ``prompt`` column have their shared leading turns taken as the prompt);
2. text: each side is rendered and tokenized exactly as ``ClassifierReward(include_prompt=True)``
   scores it at RL time (see :func:`reward_model_text`), framed by the tokenizer's own special tokens
   (``[CLS] ... [SEP]`` for BERT, nothing for SmolLM2). TRL's own preprocessing would append the EOS
   text, which ClassifierReward never sees, so the pairs reach the trainer as ``chosen_ids`` /
   ``rejected_ids``. Pairs longer than ``--max_length`` are dropped, never truncated;
3. model: the ``minilm-l6`` encoder with a fresh one-logit head (default), or a causal LM backbone
   with a ``score`` head (``--model_name_or_path smollm2-135m-instruct``; ``--use_peft`` for LoRA,
   merged into the saved weights);
4. loss: Bradley-Terry, ``-log sigmoid(r(chosen) - r(rejected))``, by TRL's ``RewardTrainer``;
5. report: held-out pairwise accuracy, the share of pairs with ``r(chosen) > r(rejected)``, before
   and after training. Both are computed through ``ClassifierReward`` (after: loaded from the saved
   folder), so they are the scores an RL recipe will see.

Measured (default run, seed 0): accuracy 0.551 -> 0.856, margin +0.003 -> +2.32; 65 steps over 1,030
pairs (30 over 128 tokens dropped). 6.5 min wall (5.4 min training) on 2 CPU cores shared with other
jobs, which left this run half the CPU (195 CPU-seconds): about 2-3 min on 2 idle cores.

``--objective pointwise`` trains on logged user feedback instead: ``(prompt, completion, feedback)``
rows, binary (clicks, thumbs, conversions) or ratings, with sigmoid cross-entropy; binary feedback is
class-weighted (positives x negatives/positives) and the head's bias shifted back by ``-log(weight)``
so that the score is the calibrated log-odds of positive feedback. Default data: a chatterbot click
log (each context shown its real reply and three others; 10% of the training labels flipped).
Reported: held-out AUC with its bootstrap interval, expected calibration error, accuracy. Measured
(seed 0): AUC 0.538 -> 0.820 [0.778, 0.860], ECE 0.254 -> 0.080, 2.6 min at one thread.

Launch:

    python recipes/train_reward_model.py                                   # minilm-l6, a few minutes on CPU
    python recipes/train_reward_model.py --objective pointwise             # clicks -> outputs/reward_model_feedback
    accelerate launch --multi_gpu --num_processes 2 recipes/train_reward_model.py   # 2 processes (not run here on CPU)
    python recipes/train_reward_model.py --config recipes/configs/train_reward_model.yaml --max_steps 20
    python recipes/train_reward_model.py --model_name_or_path smollm2-135m-instruct --use_peft \\
        --output_dir outputs/reward_model_smollm                           # causal: single-pass per-token
    python recipes/train_reward_model.py --dataset my_pairs.jsonl          # chosen, rejected[, prompt]

An ``--output_dir`` that already holds a finished run (its ``eval.json``) is refused: nothing is
overwritten. Writes ``<output_dir>/``: the model and tokenizer (``save_pretrained``) and ``eval.json``. Use it as
``ClassifierReward(folder, include_prompt=True)`` (``--reward outputs/reward_model_dialogue`` in an RL
recipe whose reward keeps the prompt), with prompts in the form it was trained on: chat messages for
the default pairs. The folder's config records ``rlreward_include_prompt``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch
from peft import get_peft_model
from transformers import DataCollatorWithPadding, set_seed
from trl import ModelConfig, RewardConfig, RewardTrainer, TrlParser, extract_prompt, get_peft_config

from rlreward.cli.runner import run_script
from rlreward.data.base import DataError, is_chat, load_table, train_eval_split, validate_columns
from rlreward.data.dialogue import dialogue_feedback_log, dialogue_preference_pairs
from rlreward.rewards.base import completion_text
from rlreward.rewards.classifier import ClassifierReward, reward_model_text
from rlreward.stats import auroc_interval, expected_calibration_error
from rlreward.trainers.pointwise import (
    TRAINING_DEFAULTS,
    PointwiseTrainer,
    load_scorer,
    refuse_finished,
    save_scorer,
    shift_score_bias,
    tokenize_rows,
)

# ---- defaults of this recipe (a YAML or CLI flags override them) ------------------------
DEFAULTS = dict(
    TRAINING_DEFAULTS,
    model_name_or_path="minilm-l6",
    output_dir="outputs/reward_model_dialogue",
    num_train_epochs=1,
    per_device_eval_batch_size=32,
    max_length=128,
    lora_task_type="SEQ_CLS",
)


@dataclass
class RewardModelArguments:
    """What the reward model learns from."""

    dataset: str | None = field(
        default=None,
        metadata={
            "help": "Preference pairs: None for chatterbot dialogue pairs, a local .jsonl/.json/.csv/.parquet "
            "file or a Hub dataset, with columns chosen, rejected and optionally prompt."
        },
    )
    dataset_split: str = field(default="train", metadata={"help": "Split of a Hub --dataset to read."})
    eval_size: float = field(
        default=0.1, metadata={"help": "Held-out pairs: a fraction in (0, 1) or a count (>= 1)."}
    )
    dialogue_format: str = field(
        default="chat",
        metadata={
            "help": "Built-in dialogue pairs: 'chat' (prompt = chat messages, as the dialogue recipe's policy "
            "sees them) or 'transcript' (prompt = 'User: ...\\nAssistant:' text)."
        },
    )
    include_prompt: bool = field(
        default=True, metadata={"help": "Score prompt + completion (False: the completion alone)."}
    )
    objective: str = field(
        default="pairwise",
        metadata={
            "help": "'pairwise': chosen/rejected pairs, Bradley-Terry loss (TRL's RewardTrainer). 'pointwise': "
            "(prompt, completion, feedback) rows of logged user feedback, binary (click, thumbs, conversion) "
            "or a rating, sigmoid cross-entropy; the score is the log-odds of positive feedback."
        },
    )
    feedback_flip: float = field(
        default=0.1,
        metadata={
            "help": "Pointwise, built-in click log only: share of training labels flipped (noisy clicks)."
        },
    )
    class_weighting: bool = field(
        default=True,
        metadata={
            "help": "Pointwise, binary feedback: weight positives by negatives/positives in the loss, then shift "
            "the head's bias by -log(weight) so that the saved score is the calibrated log-odds again."
        },
    )

    def __post_init__(self):
        if self.objective not in ("pairwise", "pointwise"):
            raise ValueError(f"--objective must be 'pairwise' or 'pointwise', got {self.objective!r}.")
        if self.dialogue_format not in ("chat", "transcript"):
            raise ValueError(
                f"--dialogue_format must be 'chat' or 'transcript', got {self.dialogue_format!r}."
            )
        if self.eval_size <= 0:
            raise ValueError(f"--eval_size must be > 0 to report held-out accuracy, got {self.eval_size}.")


def encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids as ClassifierReward builds them: the tokenizer's own special tokens around the text."""
    return tokenizer(text, add_special_tokens=True)["input_ids"]


def load_pairs(args: RewardModelArguments, seed: int) -> datasets.DatasetDict:
    """``train`` / ``eval`` pairs with columns ``prompt`` (None when absent), ``chosen``, ``rejected``."""
    eval_size = int(args.eval_size) if args.eval_size >= 1 else args.eval_size
    if args.dataset is None:
        return dialogue_preference_pairs(
            seed,
            format="conversational" if args.dialogue_format == "chat" else "standard",
            eval_size=eval_size,
        )
    table = load_table(args.dataset, split=args.dataset_split)
    validate_columns(
        table,
        ["chosen", "rejected"],
        f"reward model: {args.dataset}",
        {c: f"rename the column that holds the {c} completions to {c!r}" for c in ("chosen", "rejected")},
    )
    keep = [c for c in ("prompt", "chosen", "rejected") if c in table.column_names]
    table = table.select_columns(keep)
    if "prompt" not in keep and len(table) and is_chat(table[0]["chosen"]):
        table = table.map(extract_prompt)  # the turns both sides share become the prompt (TRL's convention)
    if len(table) < 2:
        raise DataError(f"reward model: {args.dataset} has {len(table)} pairs; give at least 2.")
    return train_eval_split(table, eval_size, seed)


def tokenize_pairs(
    pairs: datasets.Dataset, tokenizer: Any, include_prompt: bool, max_length: int
) -> tuple[datasets.Dataset, int]:
    """``chosen_ids``, ``rejected_ids`` and ``length`` for RewardTrainer; drops pairs over ``max_length`` tokens."""

    def ids(row: dict[str, Any]) -> dict[str, Any]:
        prompt = row.get("prompt")
        out = {
            side + "_ids": encode(tokenizer, reward_model_text(prompt, row[side], include_prompt))
            for side in ("chosen", "rejected")
        }
        return {**out, "length": max(len(out["chosen_ids"]), len(out["rejected_ids"]))}

    tokenized = pairs.map(ids, remove_columns=pairs.column_names)
    kept = tokenized.filter(lambda row: row["length"] <= max_length)
    return kept, len(tokenized) - len(kept)


def pairwise_accuracy(reward: ClassifierReward, pairs: datasets.Dataset) -> dict[str, float]:
    """``eval/accuracy`` = mean of ``[r(chosen) > r(rejected)]`` and ``eval/margin`` = mean of the difference."""
    prompts = pairs["prompt"] if "prompt" in pairs.column_names else [""] * len(pairs)
    chosen = reward(prompts=prompts, completions=[completion_text(c) for c in pairs["chosen"]])
    rejected = reward(prompts=prompts, completions=[completion_text(c) for c in pairs["rejected"]])
    diff = torch.tensor(chosen, dtype=torch.float64) - torch.tensor(rejected, dtype=torch.float64)
    return {"eval/accuracy": int((diff > 0).sum()) / len(diff), "eval/margin": diff.mean().item()}


# ------------------------------------------------------------------ pointwise: logged user feedback
FEEDBACK_OUTPUT_DIR = "outputs/reward_model_feedback"


def load_feedback(args: RewardModelArguments, seed: int) -> datasets.DatasetDict:
    """``train`` / ``eval`` rows with ``prompt`` (when given), ``completion`` and ``feedback``."""
    eval_size = int(args.eval_size) if args.eval_size >= 1 else args.eval_size
    if args.dataset is None:
        log = dialogue_feedback_log(
            seed,
            format="conversational" if args.dialogue_format == "chat" else "standard",
            flip=args.feedback_flip,
            eval_size=eval_size,
        )
        return log.remove_columns(["clean_feedback"])
    table = load_table(args.dataset, split=args.dataset_split)
    validate_columns(
        table,
        ["completion", "feedback"],
        f"pointwise reward model: {args.dataset}",
        {
            "completion": "rename the column that holds the scored output to 'completion'",
            "feedback": "rename the click/thumbs/rating column to 'feedback' (numbers or true/false)",
        },
    )
    table = table.select_columns([c for c in ("prompt", "completion", "feedback") if c in table.column_names])
    if len(table) < 2:
        raise DataError(f"pointwise reward model: {args.dataset} has {len(table)} rows; give at least 2.")
    return train_eval_split(table, eval_size, seed)


def feedback_targets(
    train: list[Any], held_out: list[Any], source: str
) -> tuple[list[float], list[float], bool]:
    """Targets in [0, 1] for the training and held-out feedback, and whether the feedback is binary.

    Binary feedback (0/1 or true/false) is kept; a rating is scaled to [0, 1] by the training set's
    lowest and highest values (held-out ratings outside that range are clipped)."""
    try:
        values = [float(v) for v in train] + [float(v) for v in held_out]
    except (TypeError, ValueError):
        raise DataError(
            f"pointwise reward model: {source}: 'feedback' must hold numbers or true/false."
        ) from None
    if any(v != v for v in values):  # NaN
        raise DataError(f"pointwise reward model: {source}: 'feedback' has empty values; drop those rows.")
    if set(values) <= {0.0, 1.0}:
        return values[: len(train)], values[len(train) :], True
    lo, hi = min(values[: len(train)]), max(values[: len(train)])
    if hi == lo:
        raise DataError(f"pointwise reward model: {source}: every training rating is {lo}; nothing to learn.")
    scaled = [min(1.0, max(0.0, (v - lo) / (hi - lo))) for v in values]
    return scaled[: len(train)], scaled[len(train) :], False


def feedback_metrics(
    reward: ClassifierReward, rows: datasets.Dataset, targets: list[float]
) -> dict[str, float]:
    """Held-out AUC (feedback above 0.5 as positive), expected calibration error of ``sigmoid(score)``
    (10 bins), accuracy at 0.5, and the mean predicted probability beside the mean target."""
    prompts = rows["prompt"] if "prompt" in rows.column_names else [""] * len(rows)
    scores = torch.tensor(reward(prompts=prompts, completions=list(rows["completion"])), dtype=torch.float64)
    probs = torch.sigmoid(scores).tolist()
    positive = [float(t > 0.5) for t in targets]
    out = {
        "eval/ece": expected_calibration_error(probs, targets),
        "eval/accuracy": sum((p > 0.5) == (y > 0.5) for p, y in zip(probs, positive)) / len(probs),
        "eval/mean_probability": sum(probs) / len(probs),
        "eval/mean_feedback": sum(targets) / len(targets),
    }
    if 0 < sum(positive) < len(positive):
        interval = auroc_interval(scores.tolist(), positive)
        out["eval/auc"], out["eval/auc_low"], out["eval/auc_high"] = interval
    return out


def train_pointwise(args: RewardModelArguments, config: Any, model_args: ModelConfig) -> dict[str, Any]:
    """``--objective pointwise``: train on logged feedback, save, report AUC and calibration."""
    if config.output_dir == DEFAULTS["output_dir"]:  # the pairwise default: keep that model
        config.output_dir = FEEDBACK_OUTPUT_DIR
    out = Path(config.output_dir)
    refuse_finished(out, "reward model")
    model, tokenizer, untrained = load_backbone(args, config, model_args)
    source = args.dataset or "built-in chatterbot click log"
    rows = load_feedback(args, config.seed)
    train_targets, eval_targets, binary = feedback_targets(
        rows["train"]["feedback"], rows["eval"]["feedback"], source
    )
    limit = min(config.max_length or untrained.max_length, untrained.max_length)
    prompts = rows["train"]["prompt"] if "prompt" in rows["train"].column_names else [""] * len(rows["train"])
    train, dropped = tokenize_rows(
        prompts, rows["train"]["completion"], train_targets, tokenizer, args.include_prompt, limit
    )
    positives = sum(train["labels"]) if len(train) else 0.0
    if binary and not 0 < positives < len(train):
        raise DataError(
            f"pointwise reward model: {source}: the training feedback is all one class; nothing to learn."
        )
    pos_weight = (len(train) - positives) / positives if binary and args.class_weighting else 1.0
    before = feedback_metrics(untrained, rows["eval"], eval_targets)
    if config.process_index == 0:
        print(
            f"{len(train)} training rows ({dropped} over {limit} tokens dropped; positive share "
            f"{positives / max(len(train), 1):.3f}, positives weighted x{pos_weight:.2f}), {len(rows['eval'])} held out"
        )
        print(f"before training: {before}")
    peft_config = get_peft_config(model_args)
    trainer = PointwiseTrainer(
        model=get_peft_model(model, peft_config) if peft_config else model,
        args=config,
        train_dataset=train,
        data_collator=DataCollatorWithPadding(tokenizer),
        pos_weight=pos_weight,
    )
    t0 = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t0

    # Weighting positives by w moves the optimal logit to log-odds + log(w): shift it back.
    calibrated = save_scorer(
        trainer, tokenizer, out, lambda m: pos_weight == 1.0 or shift_score_bias(m, -math.log(pos_weight))
    )
    if calibrated is None:  # not the main process
        return {}
    reward = ClassifierReward(
        str(out),
        include_prompt=args.include_prompt,
        per_token=None,
        batch_size=config.per_device_eval_batch_size,
    )
    after = feedback_metrics(reward, rows["eval"], eval_targets)
    report = {
        "objective": "pointwise",
        "before": before,
        "after": after,
        "model": model_args.model_name_or_path,
        "data": source,
        "binary_feedback": binary,
        "train_rows": len(train),
        "dropped_rows": dropped,
        "eval_rows": len(rows["eval"]),
        "positive_weight": pos_weight,
        "score": "log-odds of positive feedback"
        if calibrated
        else "log-odds + log(positive_weight) (head has no bias)",
        "steps": trainer.state.global_step,
        "train_seconds": round(train_seconds, 1),
        "include_prompt": args.include_prompt,
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    lines = [f"| held-out {k[5:]} | {before[k]:.3f} -> {after[k]:.3f} |" for k in after if k in before]
    print("\n" + "\n".join(lines))
    print(
        f"{trainer.state.global_step} steps in {train_seconds:.0f} s. Reward model and eval.json in {out}/; use it "
        f"with --reward {out}; its score is the {report['score']}."
    )
    return report


def load_backbone(
    args: RewardModelArguments, config: Any, model_args: ModelConfig
) -> tuple[Any, Any, ClassifierReward]:
    """The backbone with a fresh one-logit head, its tokenizer, and the untrained model as a ClassifierReward."""
    set_seed(config.seed)  # the fresh reward head is random
    dtype = getattr(torch, model_args.dtype) if model_args.dtype not in (None, "auto") else torch.float32
    return load_scorer(
        model_args.model_name_or_path, "reward", args.include_prompt, config.per_device_eval_batch_size, dtype
    )


def make_parser() -> TrlParser:
    """``(RewardModelArguments, RewardConfig, ModelConfig)`` with this recipe's defaults; ``--config`` YAML, then flags."""
    parser = TrlParser((RewardModelArguments, RewardConfig, ModelConfig))
    parser.set_defaults_with_config(**DEFAULTS)
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, save and report; returns what ``eval.json`` holds (empty on processes other than the main one)."""
    # ---- config --------------------------------------------------------------------------
    args, config, model_args = make_parser().parse_args_and_config(argv)
    if args.objective == "pointwise":
        return train_pointwise(args, config, model_args)
    out = Path(config.output_dir)
    refuse_finished(out, "reward model")

    # ---- model and tokenizer ---------------------------------------------------------------
    model, tokenizer, untrained = load_backbone(args, config, model_args)

    # ---- data ----------------------------------------------------------------------------
    pairs = load_pairs(args, config.seed)
    limit = min(config.max_length or untrained.max_length, untrained.max_length)  # the model's position limit
    train, dropped = tokenize_pairs(pairs["train"], tokenizer, args.include_prompt, limit)

    # ---- evaluate the untrained model --------------------------------------------------------
    before = pairwise_accuracy(untrained, pairs["eval"])
    if config.process_index == 0:
        print(
            f"{len(train)} training pairs ({dropped} over {limit} tokens dropped), {len(pairs['eval'])} held out"
        )
        print(f"before training: {before}")

    # ---- trainer, train ----------------------------------------------------------------------
    trainer = RewardTrainer(
        model=model,
        args=config,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    t0 = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t0

    # ---- save and report -------------------------------------------------------------------
    if save_scorer(trainer, tokenizer, out) is None:  # LoRA merged: a plain classifier folder
        return {}
    after = pairwise_accuracy(
        ClassifierReward(
            str(out), include_prompt=args.include_prompt, per_token=None,
            batch_size=config.per_device_eval_batch_size,
        ),
        pairs["eval"],
    )  # fmt: skip
    report = {
        "before": before,
        "after": after,
        "model": model_args.model_name_or_path,
        "train_pairs": len(train),
        "dropped_pairs": dropped,
        "eval_pairs": len(pairs["eval"]),
        "steps": trainer.state.global_step,
        "train_seconds": round(train_seconds, 1),
        "include_prompt": args.include_prompt,
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    print(
        f"\n| held-out pairwise accuracy | {before['eval/accuracy']:.3f} -> {after['eval/accuracy']:.3f} |\n"
        f"| mean margin r(chosen) - r(rejected) | {before['eval/margin']:+.3f} -> {after['eval/margin']:+.3f} |\n"
        f"{trainer.state.global_step} steps in {train_seconds:.0f} s. Reward model and eval.json in {out}/; use it "
        f"with --reward {out} (scored with include_prompt={args.include_prompt})."
    )
    return report


if __name__ == "__main__":
    run_script(main)  # bad input: one line, no traceback
