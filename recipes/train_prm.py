"""Train a process reward model (PRM): a classifier that scores each step of a solution.

The algorithm, as run by default:

1. data: step-labelled solutions in TRL's former stepwise format, one row per solution: ``prompt``,
   ``completions`` (the list of its steps) and ``labels`` (one per step: true/false or a soft label in
   [0, 1], kept as it is). ``--dataset steps.jsonl`` brings your own. Without it, the arithmetic
   policy's own samples are labelled by the task's exact checker (first-error semantics): the first
   ``--num_problems`` training problems of ``recipes/configs/ppo_arithmetic.yaml``, ``--samples``
   completions each at ``--temperature``; a sample with no step line is left out. They are written to
   ``<output_dir>/steps.jsonl`` (so that later runs can pass it as ``--dataset``). ``--synthetic N``
   adds N solutions the checker labels without sampling, to the training side only: the reference
   steps of the recipe's training problems (not the held-out ones), two in three with one step's
   result off by 1-3 or its operand miscopied, and the steps after it continuing from that total
   (so wrong too); held-out solutions stay the policy's own samples;
2. rows: one per step, the text ``context + prefix_i`` where ``prefix_i`` is the steps up to ``i``
   joined by newlines (``rlreward.rewards.process.step_prefixes``) and ``context`` is the prompt, or
   with ``--context <column>`` that column's value and a newline. The default reads the ``problem``
   column when the solutions have one (the built-in data: ``"4 + 7 - 2\n4 + 7 = 11"``) rather than
   the policy's prompt of worked examples, in which the step to judge is buried. The choice is saved
   in the model's config, so ``ProcessReward`` scores exactly this text at RL time; the target is the
   step's label;
3. model: the policy's backbone ``smollm2-135m-instruct`` with a fresh one-logit head scoring the
   last token, LoRA r 16 on every linear layer and the head trained (merged into a plain classifier
   folder at the end), 2 epochs at lr 2e-4. ``--model_name_or_path minilm-l6 --use_peft false
   --learning_rate 1e-4 --num_train_epochs 3`` is the small encoder used before (faster, but it did
   not learn the arithmetic steps); any classifier backbone works. Sigmoid cross-entropy on the
   targets (``rlreward.trainers.pointwise``). With ``--validation_size``, a share of the training
   problems is set aside, the PRM's step AUROC on it is measured after every epoch, and the best
   epoch's weights are kept (so the epoch count is chosen without the held-out solutions);
4. report on held-out solutions (split by problem, so no held-out problem is seen in training),
   before and after training: step AUROC (the PRM's score against the labels), step accuracy
   (``p > 0.5``), and first-error accuracy (the first step with ``p < 0.5``, or none, is the labels'
   first wrong step, or none).

Launch:

    python recipes/train_prm.py                                     # arithmetic samples -> outputs/prm_arithmetic
    python recipes/train_prm.py --dataset outputs/prm_arithmetic/steps.jsonl --output_dir outputs/prm_2
    python recipes/train_prm.py --num_problems 384 --synthetic 1000 --num_train_epochs 6 --validation_size 0.2  # ~1 h: AUROC 0.959
    python recipes/ppo_arithmetic.py --reward outcome prm --reward_weights 1 0.5   # RL with it

Writes ``<output_dir>/``: the classifier and tokenizer, ``steps.jsonl`` (generated data) and
``eval.json``. Use it as ``ProcessReward(folder, tokenizer=policy_tokenizer)``.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch
from peft import get_peft_model
from transformers import DataCollatorWithPadding, TrainerCallback, set_seed
from trl import ModelConfig, RewardConfig, TrlParser, get_peft_config

from rlreward.cli.runner import run_script
from rlreward.data.base import DataError, load_table, train_eval_split, validate_columns
from rlreward.rewards.classifier import ClassifierReward
from rlreward.rewards.process import STEP_SEPARATOR, context_text
from rlreward.stats import auroc_interval
from rlreward.trainers.pointwise import (
    TRAINING_DEFAULTS,
    PointwiseTrainer,
    load_scorer,
    refuse_finished,
    save_scorer,
    tokenize_rows,
)

ROOT = Path(__file__).resolve().parent
ARITHMETIC_YAML = ROOT / "configs" / "ppo_arithmetic.yaml"

DEFAULTS = dict(
    TRAINING_DEFAULTS,
    # The policy's own backbone reads arithmetic; MiniLM did not learn these steps (docs/process_rewards.md).
    model_name_or_path="smollm2-135m-instruct",
    use_peft=True,  # LoRA on every linear layer; the score head is trained in full (SEQ_CLS)
    lora_target_modules="all-linear",
    lora_task_type="SEQ_CLS",
    learning_rate=2e-4,
    output_dir="outputs/prm_arithmetic",
    num_train_epochs=2,
    per_device_eval_batch_size=64,
    max_length=512,
)


@dataclass
class PRMArguments:
    """What the process reward model learns from."""

    dataset: str | None = field(
        default=None,
        metadata={
            "help": "Step-labelled solutions (.jsonl/.json/.csv/.parquet or a Hub dataset) with columns prompt, "
            "completions (list of steps) and labels (one per step). None: label the arithmetic policy's samples."
        },
    )
    eval_size: float = field(
        default=0.2, metadata={"help": "Held-out solutions: a fraction in (0, 1) or a count."}
    )
    num_problems: int = field(default=128, metadata={"help": "Built-in data: training problems to sample."})
    samples: int = field(default=4, metadata={"help": "Built-in data: completions per problem."})
    temperature: float = field(default=1.0, metadata={"help": "Built-in data: sampling temperature."})
    context: str | None = field(
        default=None,
        metadata={
            "help": "What the PRM reads before the steps: 'prompt', or a column of the solutions (its value and "
            "a newline). None: 'problem' when the solutions have it (the built-in arithmetic data), else 'prompt'."
        },
    )
    validation_size: float = field(
        default=0.0,
        metadata={
            "help": "Validation solutions taken from the training side (a fraction in (0, 1) or a count; split by "
            "problem when the solutions name one, before --synthetic is added). After each epoch the PRM's step "
            "AUROC on them is measured and the best epoch's weights are kept. 0: keep the last epoch."
        },
    )
    synthetic: int = field(
        default=0,
        metadata={
            "help": "Arithmetic: add this many checker-labelled training solutions built from the recipe's "
            "training problems (reference steps, two in three with one step perturbed); held-out data unchanged."
        },
    )

    def __post_init__(self):
        if self.eval_size <= 0:
            raise ValueError(f"--eval_size must be > 0 to report held-out step AUROC, got {self.eval_size}.")
        if self.num_problems < 2 or self.samples < 1:
            raise ValueError("--num_problems must be at least 2 and --samples at least 1.")
        if self.validation_size < 0:
            raise ValueError(
                f"--validation_size must be >= 0 (0: no validation), got {self.validation_size}."
            )
        if self.synthetic < 0:
            raise ValueError(f"--synthetic must be >= 0 (solutions to add), got {self.synthetic}.")


# ------------------------------------------------------------------------------------------ data
def sample_solutions(args: PRMArguments, seed: int) -> list[dict[str, Any]]:
    """The arithmetic policy's samples on training problems, labelled step by step by the checker."""
    from datasets import concatenate_datasets

    from rlreward.cli.args import parse_args
    from rlreward.cli.reward_specs import build_reward
    from rlreward.models import load_causal_lm, resolve_dtype
    from rlreward.tasks import get_task
    from rlreward.tasks.arithmetic import check_completion, parse_problem
    from rlreward.trainers import PPOConfig, PPOTrainer

    task = get_task("arithmetic")
    policy_args, config, options = parse_args(
        PPOConfig, ["--output_dir", "unused"], default_config=ARITHMETIC_YAML, extra=(task.options,)
    )
    problems = task.load_data(policy_args, options)["train"]
    problems = problems.select(range(min(args.num_problems, len(problems))))
    model, tokenizer = load_causal_lm(policy_args.model_name_or_path, dtype=resolve_dtype(policy_args.dtype))
    rewards, weights, _ = build_reward(policy_args, tokenizer, task)
    config.batch_size = config.mini_batch_size = config.micro_batch_size = 64  # generation only
    trainer = PPOTrainer(model, rewards, problems, config, tokenizer=tokenizer, reward_weights=weights)
    repeated = concatenate_datasets([problems] * args.samples)
    print(
        f"labelling {len(repeated)} policy samples ({len(problems)} problems x {args.samples} at temperature "
        f"{args.temperature}) with the checker...",
        flush=True,
    )
    rows = trainer.evaluate(repeated, temperature=args.temperature, seed=seed).rows
    solutions = []
    for row in rows:
        check = check_completion(parse_problem(row["problem"]), row["completion"])
        lines = check.lines[: check.judged]
        if lines:
            solutions.append(
                {
                    "prompt": row["prompt"],
                    "completions": [row["completion"][start:end] for start, end, _ in lines],
                    "labels": [float(ok) for _, _, ok in lines],
                    "problem": row["problem"],
                }
            )
    return solutions


def perturbed_solution(problem: Any, rng: random.Random) -> tuple[list[str], list[float]]:
    """The reference steps of ``problem``; two times in three, one step goes wrong and stays wrong.

    The wrong step has its result off by 1-3, or its operand miscopied (with the arithmetic of the
    miscopied operand right); later steps continue from the wrong total, correctly computed, and are
    labelled wrong too (first-error semantics). Returns the step lines and their labels.
    """
    steps = problem.steps()
    error = rng.randrange(len(steps)) if rng.random() < 2 / 3 else len(steps)
    lines, labels, total = [], [], steps[0][0]
    for k, (_, op, operand, _) in enumerate(steps):
        if k == error and rng.random() < 0.5:
            operand = max(0, operand + rng.choice([-2, -1, 1, 2]))
        result = total + operand if op == "+" else total - operand
        if k == error and operand == steps[k][2]:
            result += rng.choice([-3, -2, -1, 1, 2, 3])
        lines.append(f"{total} {op} {operand} = {result}")
        labels.append(float(k < error))
        total = result
    return lines, labels


def synthetic_solutions(count: int, exclude: set[str], seed: int) -> list[dict[str, Any]]:
    """``count`` checker-labelled solutions of the arithmetic recipe's training problems (not ``exclude``)."""
    import yaml

    from rlreward.tasks.arithmetic import ArithmeticArguments, generated_splits, parse_problem

    settings = yaml.safe_load(ARITHMETIC_YAML.read_text())
    options = ArithmeticArguments(**{k: settings[k] for k in ArithmeticArguments.__dataclass_fields__})
    train = [
        r for r in generated_splits(options, settings["eval_size"])["train"] if r["problem"] not in exclude
    ]
    rng = random.Random(seed)
    out = []
    for i in range(count):
        row = train[i % len(train)]
        lines, labels = perturbed_solution(parse_problem(row["problem"]), rng)
        out.append(
            {"prompt": row["prompt"], "completions": lines, "labels": labels, "problem": row["problem"]}
        )
    return out


def add_synthetic(solutions: datasets.DatasetDict, count: int, seed: int) -> datasets.DatasetDict:
    """``solutions`` with ``count`` synthetic ones added to ``train`` (none of the problems of the other
    splits: held out, validation)."""
    if not count:
        return solutions
    others = [split for name, split in solutions.items() if name != "train"]
    held_out = {p for split in others if "problem" in split.column_names for p in split["problem"]}
    extra = synthetic_solutions(count, held_out, seed)
    columns = solutions["train"].column_names
    train = list(solutions["train"]) + [{k: row.get(k) for k in columns} for row in extra]
    return datasets.DatasetDict({**solutions, "train": datasets.Dataset.from_list(train)})


def as_size(size: float) -> int | float:
    """A ``--eval_size`` / ``--validation_size`` value as ``train_eval_split`` takes it: a count or a fraction."""
    return int(size) if size >= 1 else size


def split_validation(solutions: datasets.DatasetDict, size: float, seed: int) -> datasets.DatasetDict:
    """``validation`` taken from ``train`` (by problem when the solutions name one); ``eval`` untouched."""
    if not size:
        return solutions
    size = as_size(size)
    train = solutions["train"]
    if "problem" in train.column_names:
        split = split_by_problem(list(train), size, seed)
    else:
        split = train_eval_split(train, size, seed)
    labels = [float(y) > 0.5 for row in split["eval"] for y in row["labels"]]
    if all(labels) or not any(labels):
        raise DataError(
            f"process reward model: the {len(split['eval'])} validation solutions (--validation_size {size}) have "
            "only right or only wrong steps, so no AUROC can choose an epoch; raise --validation_size."
        )
    return datasets.DatasetDict({**solutions, "train": split["train"], "validation": split["eval"]})


def load_solutions(args: PRMArguments, seed: int, out: Path) -> tuple[datasets.DatasetDict, str]:
    """``train`` / ``eval`` solutions (``prompt``, ``completions``, ``labels``) and where they came from."""
    eval_size = as_size(args.eval_size)
    if args.dataset is None:
        solutions = sample_solutions(args, seed)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "steps.jsonl", "w") as f:
            f.writelines(json.dumps(s) + "\n" for s in solutions)
        source = f"arithmetic policy samples ({len(solutions)} with steps; {out / 'steps.jsonl'})"
        return split_by_problem(solutions, eval_size, seed), source
    table = load_table(args.dataset)
    fix = {
        "completions": "rename the column with each solution's list of steps to 'completions'",
        "labels": "rename the column with one label per step to 'labels'",
    }
    validate_columns(table, ["completions", "labels"], f"process reward model: {args.dataset}", fix)
    for i, row in enumerate(table):
        steps, labels = row["completions"], row["labels"]
        if not isinstance(steps, list) or not isinstance(labels, list) or len(steps) != len(labels):
            raise DataError(
                f"process reward model: {args.dataset} row {i}: 'completions' and 'labels' must be lists of "
                f"one length (got {type(steps).__name__} and {type(labels).__name__}); give one label per step."
            )
    if len(table) < 2:
        raise DataError(f"process reward model: {args.dataset} has {len(table)} solutions; give at least 2.")
    if "problem" in table.column_names:  # samples of one problem stay on one side (steps.jsonl has it)
        return split_by_problem(list(table), eval_size, seed), args.dataset
    return train_eval_split(table, eval_size, seed), args.dataset


def split_by_problem(
    solutions: list[dict[str, Any]], eval_size: int | float, seed: int
) -> datasets.DatasetDict:
    """Held-out problems (a seeded share of the distinct ``problem`` values), with every sample of each."""
    problems = sorted({s["problem"] for s in solutions})
    split = train_eval_split(datasets.Dataset.from_dict({"problem": problems}), eval_size, seed)
    held_out = set(split["eval"]["problem"])
    parts = {
        "train": [s for s in solutions if s["problem"] not in held_out],
        "eval": [s for s in solutions if s["problem"] in held_out],
    }
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in parts.items()})


def choose_context(solutions: datasets.DatasetDict, context: str | None) -> str:
    """The column the PRM reads before the steps (``--context``), checked against the solutions."""
    columns = solutions["train"].column_names
    if context is None:
        return "problem" if "problem" in columns else "prompt"
    if context != "prompt" and context not in columns:
        raise DataError(
            f"process reward model: --context {context!r} is not a column of the solutions (columns: "
            f"{columns}); name one of them, or 'prompt'."
        )
    return context


def step_rows(
    solutions: datasets.Dataset, context: str = "prompt"
) -> tuple[list[Any], list[str], list[float]]:
    """One ``(context, prefix, label)`` per step: the PRM's training rows. The context is the prompt, or
    the ``context`` column as ``ProcessReward(context=...)`` reads it at RL time."""
    prompts, prefixes, labels = [], [], []
    has_prompt = "prompt" in solutions.column_names
    for row in solutions:
        steps = [str(s) for s in row["completions"]]
        plain = row["prompt"] if has_prompt else ""
        before = context_text(row[context]) if context != "prompt" else plain
        for i, label in enumerate(row["labels"]):
            prompts.append(before)
            prefixes.append(STEP_SEPARATOR.join(steps[: i + 1]))
            labels.append(min(1.0, max(0.0, float(label))))
    return prompts, prefixes, labels


# --------------------------------------------------------------------------------------- metrics
def first_error(values: list[float]) -> int | None:
    """The index of the first step at or below 0.5 (wrong), or None when every step is right."""
    return next((i for i, v in enumerate(values) if v <= 0.5), None)


def prm_metrics(
    prm: ClassifierReward, solutions: datasets.Dataset, context: str = "prompt"
) -> dict[str, float]:
    """Held-out step AUROC, step accuracy and first-error accuracy of the PRM's probabilities."""
    prompts, prefixes, labels = step_rows(solutions, context)
    probs = torch.sigmoid(
        torch.tensor(prm(prompts=prompts, completions=prefixes), dtype=torch.float64)
    ).tolist()
    positive = [float(y > 0.5) for y in labels]
    out = {
        "eval/step_accuracy": sum((p > 0.5) == (y > 0.5) for p, y in zip(probs, labels)) / len(labels),
        "eval/steps": float(len(labels)),
        "eval/right_steps": sum(positive) / len(positive),
    }
    if 0 < sum(positive) < len(positive):
        interval = auroc_interval(probs, positive)
        out["eval/step_auroc"], out["eval/step_auroc_low"], out["eval/step_auroc_high"] = interval
    hits, at = 0, 0
    for row in solutions:
        n = len(row["labels"])
        hits += first_error(probs[at : at + n]) == first_error([float(v) for v in row["labels"]])
        at += n
    out["eval/first_error_accuracy"] = hits / len(solutions)
    return out


class BestEpoch(TrainerCallback):
    """After each epoch, the PRM's metrics on the validation solutions; when training ends, the
    trainable weights (LoRA and head, or every weight without LoRA) of the epoch with the highest step
    AUROC are put back (the earliest, on a tie).

    ``scorer`` must score with the weights being trained (``load_scorer``'s reward: LoRA is injected
    into its model in place).
    """

    def __init__(self, scorer: ClassifierReward, validation: datasets.Dataset, context: str):
        self.scorer, self.validation, self.context = scorer, validation, context
        self.history: list[dict[str, float]] = []
        self.best: tuple[float, int, dict[str, torch.Tensor]] | None = None

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        was_training = model.training
        model.eval()  # no dropout while scoring
        metrics = prm_metrics(self.scorer, self.validation, self.context)
        model.train(was_training)
        epoch = len(self.history) + 1
        self.history.append({"epoch": epoch, **metrics})
        auroc = metrics["eval/step_auroc"]
        print(f"epoch {epoch}: validation step AUROC {auroc:.3f}", flush=True)
        if self.best is None or auroc > self.best[0]:
            weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
            self.best = (auroc, epoch, weights)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.best is None:
            return
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in self.best[2]:
                    p.copy_(self.best[2][name])

    @property
    def chosen_epoch(self) -> int | None:
        return None if self.best is None else self.best[1]


# ------------------------------------------------------------------------------------------ main
def make_parser() -> TrlParser:
    parser = TrlParser((PRMArguments, RewardConfig, ModelConfig))
    parser.set_defaults_with_config(**DEFAULTS)
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Label (or read) solutions, train, save and report; returns what ``eval.json`` holds."""
    args, config, model_args = make_parser().parse_args_and_config(argv)
    out = Path(config.output_dir)
    refuse_finished(out, "PRM")
    set_seed(config.seed)
    t0 = time.perf_counter()
    solutions, source = load_solutions(args, config.seed, out)
    solutions = split_validation(solutions, args.validation_size, config.seed)
    solutions = add_synthetic(solutions, args.synthetic, config.seed)
    if args.synthetic:
        source += f" + {args.synthetic} synthetic checker-labelled training solutions"
    context = choose_context(solutions, args.context)
    data_seconds = time.perf_counter() - t0

    model, tokenizer, untrained = load_scorer(
        model_args.model_name_or_path, "step_correct", True, config.per_device_eval_batch_size
    )
    model.config.rlreward_prm_context = context  # ProcessReward reads the same text at RL time
    limit = min(config.max_length or untrained.max_length, untrained.max_length)
    train, dropped = tokenize_rows(*step_rows(solutions["train"], context), tokenizer, True, limit)
    before = prm_metrics(untrained, solutions["eval"], context)
    validation = solutions.get("validation")
    print(
        f"{len(solutions['train'])} training solutions ({len(train)} steps, {dropped} over {limit} tokens dropped), "
        f"{len(validation or [])} for validation, {len(solutions['eval'])} held out; data: {source} "
        f"({data_seconds:.0f} s); the PRM reads the {context!r} before the steps\nbefore training: {before}"
    )
    peft_config = get_peft_config(model_args)
    # the untrained reward's model is the one trained (LoRA goes in place): it scores the validation steps
    best_epoch = BestEpoch(untrained, validation, context) if validation is not None else None
    trainer = PointwiseTrainer(
        model=get_peft_model(model, peft_config) if peft_config else model,
        args=config,
        train_dataset=train,
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=[best_epoch] if best_epoch else None,
    )
    t1 = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t1
    save_scorer(trainer, tokenizer, out)
    prm = ClassifierReward(
        str(out), include_prompt=True, per_token=None, batch_size=config.per_device_eval_batch_size
    )
    after = prm_metrics(prm, solutions["eval"], context)
    report = {
        "before": before,
        "after": after,
        "model": model_args.model_name_or_path,
        "data": source,
        "context": context,
        "train_solutions": len(solutions["train"]),
        "train_steps": len(train),
        "dropped_steps": dropped,
        "eval_solutions": len(solutions["eval"]),
        "validation_solutions": len(validation or []),
        "validation": best_epoch.history if best_epoch else None,
        "chosen_epoch": best_epoch.chosen_epoch if best_epoch else None,
        "optimizer_steps": trainer.state.global_step,
        "data_seconds": round(data_seconds, 1),
        "train_seconds": round(train_seconds, 1),
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    keys = [k for k in ("eval/step_auroc", "eval/step_accuracy", "eval/first_error_accuracy") if k in after]
    print(
        "\n"
        + "\n".join(f"| held-out {k[5:]} | {before.get(k, math.nan):.3f} -> {after[k]:.3f} |" for k in keys)
    )
    print(f"PRM and eval.json in {out}/; RL with it: python recipes/ppo_arithmetic.py --reward outcome prm")
    return report


if __name__ == "__main__":
    run_script(main)  # bad input: one line, no traceback
