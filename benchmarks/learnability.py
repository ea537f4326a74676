"""Learnability probe: can the base policy already sample what the task rewards? (issue 12, section 1)

RL sharpens what the policy can sample; it cannot teach what no sample ever shows. For one task, on
its training and held-out items (the recipe's own data, prompt format and limits, read from
``recipes/configs/ppo_<task>.yaml``):

1. greedy: one completion per item at temperature 0;
2. sampled: ``k`` completions per item at each temperature, drawn by the trainer's own evaluation
   of the items repeated ``k`` times (row ``s * n + i`` is sample ``s`` of item ``i``; the evaluation
   seeds every row on its own, so samples are independent and do not depend on the batching, and
   generation runs in full batches, several times faster on CPU than ``k`` evaluations of ``n`` rows);
3. per item, the task's per-item metric of each completion (see ``ITEM_METRICS``), then
   * the mean over its samples (the sampled metric at that temperature),
   * best-of-j for j = 1, 4, 16 (j <= k): the unbiased estimate of ``E[max of j samples]`` from the
     item's ``k`` samples (on pass/fail metrics this is the unbiased pass@j of Chen et al. 2021);
4. the table's headroom: best-of-k minus the mean, averaged over items, with a 95% paired bootstrap
   interval over items. A task whose best-of-16 barely exceeds its mean has nothing for RL to sharpen.

Per-item metrics: sentiment, VADER compound (-1..1); QA, SQuAD token F1 (0-1) and exact match
(pass/fail); translation, sentence chrF (0-100); codegen, every unit test passed (pass/fail);
dialogue, the reward model's score (skipped when ``outputs/reward_model_dialogue`` does not exist);
classification, whether the first label the answer names is the gold one (pass/fail).

Run (the recipe's flags after ``--``; each task a few minutes on 2 CPU cores with ``--limit 32``):

    python benchmarks/learnability.py --task qa --limit 32
    python benchmarks/learnability.py --task translation --limit 32 -- --language fr
    python benchmarks/learnability.py --task codegen --k 8 --temperatures 0.7 --limit 40

Writes ``<output_dir>/<task>.json`` (every per-item sample metric too) and ``<task>.md``, and prints
the table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402

BEST_OF = (1, 4, 16)
PASS_FAIL, CONTINUOUS = "pass/fail", "continuous"


# ------------------------------------------------------------------------------ per-item metrics
@dataclass(frozen=True)
class ItemMetric:
    """One number per evaluated row: ``score(rows, context) -> (n,)``; ``kind`` is pass/fail or continuous."""

    name: str
    kind: str
    score: Callable[[Sequence[dict[str, Any]], Any], list[float]]


def _vader(rows, context) -> list[float]:
    from rlreward.tasks.sentiment import _VADER

    return [_VADER.polarity(r["completion"])[0] for r in rows]


def _token_f1(rows, context) -> list[float]:
    from rlreward.rewards.metrics import token_f1

    return [token_f1(r["completion"], r["answers"]) for r in rows]


def _exact_match(rows, context) -> list[float]:
    from rlreward.rewards.metrics import exact_match

    return [exact_match(r["completion"], r["answers"]) for r in rows]


def _chrf(rows, context) -> list[float]:
    from rlreward.rewards.metrics import sentence_chrf

    return [sentence_chrf(r["completion"], r["reference"]) for r in rows]


def _passes(rows, context) -> list[float]:
    from rlreward.tasks.codegen import passes

    return [float(ok) for ok in passes(rows)]


def _correct_label(rows, context) -> list[float]:
    from rlreward.tasks.classification import predicted_label

    return [float(predicted_label(r["completion"], r["labels"]) == r["label"]) for r in rows]


def _reward_model(rows, context) -> list[float]:
    from rlreward.tasks.dialogue import REWARD_MODEL_NAME

    [model] = [r for r in context.rewards if getattr(r, "name", None) == REWARD_MODEL_NAME][:1] or [None]
    if model is None:
        raise ValueError("dialogue: no reward model among the run's rewards; pass --reward <folder>.")
    return [float(s) for s in model([r["prompt"] for r in rows], [r["completion"] for r in rows])]


ITEM_METRICS: dict[str, list[ItemMetric]] = {
    "sentiment": [ItemMetric("vader", CONTINUOUS, _vader)],
    "qa": [ItemMetric("token_f1", CONTINUOUS, _token_f1), ItemMetric("exact_match", PASS_FAIL, _exact_match)],
    "translation": [ItemMetric("chrf", CONTINUOUS, _chrf)],
    "codegen": [ItemMetric("pass", PASS_FAIL, _passes)],
    "dialogue": [ItemMetric("reward_model", CONTINUOUS, _reward_model)],
    "classification": [ItemMetric("accuracy", PASS_FAIL, _correct_label)],
}


# ------------------------------------------------------------------------------ the maths
def summarize_samples(samples: np.ndarray, kind: str, best_of: Sequence[int] = BEST_OF) -> dict[str, Any]:
    """Aggregate an ``(items, k)`` matrix of per-sample metrics.

    Returns:
        ``mean`` (over items and samples), ``best_of`` ``{str(j): mean over items of the unbiased
        E[max of j of k]}`` for each ``j <= k`` (pass@j on pass/fail metrics), ``headroom`` (best-of-k
        minus mean, with its paired bootstrap interval over items) and, for pass/fail metrics,
        ``solved_share``: the share of items that at least one sample passed.
    """
    samples = np.asarray(samples, dtype=np.float64)
    items, k = samples.shape
    per_item_mean = samples.mean(axis=1)
    best = {}
    for j in [j for j in best_of if j <= k]:
        if kind == PASS_FAIL:
            per_item = [stats.pass_at_k(k, int(row.sum()), j) for row in samples]
        else:
            per_item = [stats.expected_max_of_k(row, j) for row in samples]
        best[str(j)] = float(np.mean(per_item))  # str keys: the record is JSON
    top = np.array([stats.expected_max_of_k(row, k) for row in samples])  # best-of-k per item
    headroom = stats.paired_bootstrap_ci(top, per_item_mean)
    out = {
        "mean": float(per_item_mean.mean()),
        "best_of": best,
        "headroom": headroom._asdict(),
        "items": items,
        "k": k,
    }
    if kind == PASS_FAIL:
        out["solved_share"] = float((samples.max(axis=1) > 0).mean())
    return out


# ------------------------------------------------------------------------------ the probe
def recipe_config(task_name: str, flags: Sequence[str]) -> tuple[Any, Any, Any]:
    """``(args, PPOConfig, options)`` of ``recipes/ppo_<task>.py`` with ``flags`` on top of its YAML."""
    from rlreward.cli.args import parse_args
    from rlreward.tasks import get_task
    from rlreward.trainers import PPOConfig

    task = get_task(task_name)
    extra = (task.options,) if task.options else ()
    yaml_path = ROOT / "recipes" / "configs" / f"ppo_{task_name}.yaml"
    args, config, *rest = parse_args(PPOConfig, list(flags), default_config=yaml_path, extra=extra)
    return args, config, rest[0] if rest else (task.options() if task.options else None)


def probe(
    task_name: str,
    flags: Sequence[str] = (),
    splits: Sequence[str] = ("train", "eval"),
    k: int = 16,
    temperatures: Sequence[float] = (0.7, 1.0),
    limit: int | None = None,
    eval_batch_size: int = 96,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    on_split: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Greedy, sampled and best-of-k metrics of the recipe's base policy on each split.

    Returns a JSON-able record: ``{"task", "settings", "skipped"?, "splits": {split: {"greedy":
    {metric: value}, "task_metrics": {...}, "temperatures": {T: {metric: summary}}, "samples": ...}}}``;
    ``on_split(record)`` is called after each split (the script saves what is done so far).
    """
    from datasets import concatenate_datasets

    from rlreward.cli.reward_specs import build_reward
    from rlreward.models import load_causal_lm, resolve_dtype
    from rlreward.tasks import EvalContext, get_task
    from rlreward.trainers import PPOTrainer

    task = get_task(task_name)
    args, config, options = recipe_config(task_name, flags)
    record: dict[str, Any] = {
        "task": task_name,
        "settings": {
            "model": args.model_name_or_path,
            "flags": list(flags),
            "k": k,
            "temperatures": list(temperatures),
            "limit": limit,
            "max_new_tokens": config.max_new_tokens,
            "use_chat_template": config.use_chat_template,
            "eval_size": args.eval_size,
        },
        "splits": {},
    }
    if task.check is not None:
        try:
            task.check(args, options, config)
        except ValueError as err:
            record["skipped"] = str(err)
            log(f"{task_name}: skipped: {err}")
            return record
    data = task.load_data(args, options)
    n_eval = min(args.eval_size, len(data["eval"]))
    sizes = {"eval": n_eval, "train": n_eval}  # as many training items as held-out ones
    if limit is not None:
        sizes = {s: min(limit, n) for s, n in sizes.items()}
    subsets = {s: data[s].select(range(min(sizes[s], len(data[s])))) for s in splits}

    model, tokenizer = load_causal_lm(args.model_name_or_path, dtype=resolve_dtype(args.dtype))
    rewards, weights, _ = build_reward(args, tokenizer, task)
    # What the prompts really were: the flag wraps them only when the tokenizer has a template.
    record["settings"]["use_chat_template"] = bool(config.use_chat_template and tokenizer.chat_template)
    config.batch_size = config.mini_batch_size = config.micro_batch_size = eval_batch_size  # generation only
    first_rows = data["train"].select(range(min(len(data["train"]), eval_batch_size)))  # nothing is trained
    trainer = PPOTrainer(model, rewards, first_rows, config, tokenizer=tokenizer, reward_weights=weights)
    context = EvalContext(trainer, rewards, options, 0.0)
    metrics = ITEM_METRICS[task_name]
    t0 = time.perf_counter()
    for split, dataset in subsets.items():
        greedy = trainer.evaluate(dataset, temperature=0.0)
        out: dict[str, Any] = {
            "items": len(dataset),
            "greedy": {m.name: float(np.mean(m.score(greedy.rows, context))) for m in metrics},
            "task_metrics": task.task_metrics(greedy, context),
            "greedy_examples": [r["completion"] for r in greedy.rows[:3]],
            "temperatures": {},
            "samples": {},
        }
        log(f"{task_name} {split}: greedy {out['greedy']} ({time.perf_counter() - t0:.0f} s)")
        for temperature in temperatures:
            context.temperature = temperature
            # All k samples of every item in one evaluation: the items repeated k times, row s * n + i
            # being sample s of item i (its own per-prompt seed), so that generation runs in full batches.
            repeated = concatenate_datasets([dataset] * k)
            rows = trainer.evaluate(repeated, temperature=temperature, seed=0).rows
            n = len(dataset)
            columns = {m.name: np.array(m.score(rows, context)).reshape(k, n) for m in metrics}
            per_metric = {}
            for m in metrics:
                matrix = columns[m.name].T  # (items, k)
                per_metric[m.name] = {"kind": m.kind, **summarize_samples(matrix, m.kind)}
                out["samples"].setdefault(str(temperature), {})[m.name] = matrix.round(4).tolist()
            out["temperatures"][str(temperature)] = per_metric
            log(
                f"{task_name} {split} T={temperature}: "
                + ", ".join(f"{n} mean {v['mean']:.3f} best-of {v['best_of']}" for n, v in per_metric.items())
                + f" ({time.perf_counter() - t0:.0f} s)"
            )
        record["splits"][split] = out
        if on_split is not None:
            on_split(record)
    record["seconds"] = time.perf_counter() - t0
    return record


# ------------------------------------------------------------------------------ report
def _num(value: float, scale: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * scale:.3f}"


def markdown(record: dict[str, Any]) -> str:
    """One row per (split, metric, temperature): greedy, mean, best-of-j and the headroom's interval."""
    s = record["settings"]
    title = (
        f"{record['task']}: `{s['model']}`, {s['max_new_tokens']} new tokens, "
        f"{'chat template' if s['use_chat_template'] else 'plain continuation'}, k = {s['k']} samples per "
        f"item{' ' + ' '.join(s['flags']) if s['flags'] else ''}"
    )
    if "skipped" in record:
        return f"{title}: skipped ({record['skipped']})\n"
    best = [j for j in BEST_OF if j <= s["k"]]
    lines = [
        title,
        "",
        "| split | items | metric | greedy | T | mean | "
        + " | ".join(f"best-of-{j}" for j in best)
        + " | headroom: best-of-k - mean [95% CI] | solved by any sample |",
        "|---" * (7 + len(best)) + "|",
    ]
    for split, out in record["splits"].items():
        for temperature, per_metric in out["temperatures"].items():
            for name, v in per_metric.items():
                label = f"{name} (pass@j)" if v["kind"] == PASS_FAIL else name
                h = stats.Interval(**v["headroom"])
                solved = f"{v['solved_share']:.3f}" if "solved_share" in v else ""
                cells = [split, str(out["items"]), label, _num(out["greedy"][name], 1), temperature]
                cells += [_num(v["mean"], 1)] + [_num(v["best_of"][str(j)], 1) for j in best]
                cells += [h.fmt(3), solved]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(record: dict[str, Any], path: Path) -> None:
    """Best-of-j against j per split and temperature, with the greedy metric as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m.name for m in ITEM_METRICS[record["task"]]]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        for (split, out), color in zip(record["splits"].items(), ("tab:blue", "tab:orange")):
            for temperature, per_metric in out["temperatures"].items():
                v = per_metric[name]
                js = sorted(int(j) for j in v["best_of"])
                ax.plot(
                    [0, *js],
                    [v["mean"], *[v["best_of"][str(j)] for j in js]],
                    marker="o",
                    color=color,
                    alpha=0.5 + 0.5 * (float(temperature) >= 1.0),
                    label=f"{split} T={temperature} (j=0: mean)",
                )
            ax.axhline(out["greedy"][name], color=color, linestyle="--", linewidth=1, label=f"{split} greedy")
        ax.set(xlabel="j (best of j samples)", ylabel=name, title=f"{record['task']}: {name}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", required=True, choices=sorted(ITEM_METRICS))
    parser.add_argument("--split", nargs="+", default=["train", "eval"], choices=["train", "eval"])
    parser.add_argument("--k", type=int, default=16, help="Samples per item at each temperature.")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.7, 1.0])
    parser.add_argument("--limit", type=int, default=None, help="At most N items per split.")
    parser.add_argument("--model", default=None, help="Policy (the recipe's model_name_or_path otherwise).")
    parser.add_argument("--eval_batch_size", type=int, default=96, help="Prompts per generation batch.")
    parser.add_argument("--output_dir", default="outputs/learnability")
    parser.add_argument("--plot", default=None, help="Also draw best-of-j against j to this PNG.")
    a = parser.parse_args(argv)
    if a.model:
        flags = ["--model_name_or_path", a.model, *flags]
    out = Path(a.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = a.task + (f"_{flags[flags.index('--language') + 1]}" if "--language" in flags[:-1] else "")

    def save(record: dict[str, Any]) -> None:
        (out / f"{name}.json").write_text(json.dumps(record, indent=1))

    record = probe(a.task, flags, a.split, a.k, a.temperatures, a.limit, a.eval_batch_size, on_split=save)
    save(record)
    table = markdown(record)
    (out / f"{name}.md").write_text(table)
    if a.plot and record["splits"]:
        plot(record, Path(a.plot))
    print(table)
    return record


if __name__ == "__main__":
    main()
