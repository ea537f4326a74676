"""Instant vs terminal rewards on one task: same budget, seeds and items (issue 12, section 4).

For a task recipe, each reward *variant* is trained with every seed on the recipe's defaults
(``recipes/configs/ppo_<task>.yaml``) with ``--max_steps`` set to the budget:

* ``terminal``: the task's default rewards reduced to their sequence scores (``<name>@sequence``),
  put on the last token (``--densify terminal``): classic RLHF credit;
* ``instant``: the task's default rewards as they are, with their native per-token credit (for the
  text metrics and VADER that credit *is* the prefix delta ``phi(y_<=t) - phi(y_<t)``, computed by
  the reward itself, so a separate ``prefix_delta`` variant would be the same run);
* ``prefix_delta``: the sequence scores densified by :mod:`rlreward.rewards.shaping`'s generic
  prefix re-scoring, for tasks whose native credit is something else (codegen's syntax credit);
* ``attention``: the sequence scores of a classifier reward spread by its attention (dialogue only).

Dialogue's reward model is a folder (``--reward_model``, default ``outputs/reward_model_dialogue``):
its terminal variant scores the whole reply once (``--model_credit none``), the instant one is the
recipe's prefix delta; the repetition and length terms follow the built-in rule above.

Every variant's sequence score is the same number, so only *when* the credit arrives differs.

What is measured, per run (one subprocess each, the generic runner of the recipes with this task):
held-out per-item metric (the task's own: VADER compound, token F1, sentence chrF, pass/fail, reward
model score) before training, every ``--eval_every`` steps and after, on the recipe's held-out items
with the runner's evaluation (its temperature, fixed per-prompt seeds); the training-batch reward
per step (``metrics.jsonl``). Then:

1. per run, the mean per-item change ``after - before`` with its 95% paired bootstrap interval
   (:mod:`stats`); per seed, ``instant - terminal`` after training, paired the same way;
2. over seeds, the median and range of every number;
3. samples-to-threshold: per seed, the samples instant needs on its held-out curve to reach
   terminal's final held-out metric (linear between checkpoints), and its ratio to the budget;
   the same on the training-batch curves (trailing mean over a quarter of the steps);
4. ``dense_vs_sparse_<task>.png``: held-out metric and training reward against samples, median line
   and min-max band over seeds.

The base policy's evaluation is run once (the first run) and shared: before training every run is
the same policy (LoRA's B is zero at initialisation) evaluated with the same per-prompt seeds.

Run (about 3 minutes a run on 2 CPU cores at 12 steps of 16):

    python benchmarks/dense_vs_sparse.py --task sentiment --seeds 0 1 2 --steps 12 --eval_every 4
    python benchmarks/dense_vs_sparse.py --task qa --seeds 0 1 2 --trainer reinforce -- --eval_size 32
    python recipes/train_reward_model.py && python benchmarks/dense_vs_sparse.py --task dialogue --eval_every 8

Flags after ``--`` go to every run (``--model_name_or_path``, ``--language fr``, batch sizes...).
Results: ``<output_dir>/<task>/{results.json,table.md,dense_vs_sparse_<task>.png}`` and one folder
per run; finished runs are reused unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlreward.rewards.base import InstantReward, RewardOutput, as_instant

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stats  # noqa: E402
from learnability import ITEM_METRICS  # noqa: E402

SEQUENCE = "@sequence"  # suffix of a built-in reward reduced to its sequence score


# ------------------------------------------------------------------------------ reward variants
class SequenceOnly(InstantReward):
    """A reward's sequence scores only (``per_token = None``), so that the trainer densifies them.
    Its state and freezing reach the inner reward (``children``), as for any wrapper."""

    per_token = None

    def __init__(self, inner: Any):
        self.inner = as_instant(inner)
        self.name = f"{self.inner.name}{SEQUENCE}"

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        out = self.inner.score(prompts, completions, completion_ids, **kwargs)
        return RewardOutput(out.sequence, None, dict(out.components))

    def children(self) -> list[InstantReward]:
        return [self.inner]


def with_sequence_rewards(task: Any) -> Any:
    """``task`` with ``<name>@sequence`` beside each built-in reward: the same scores, no per-token credit."""

    def sequence_factory(factory):
        return lambda tokenizer: SequenceOnly(factory(tokenizer))

    extra = {f"{name}{SEQUENCE}": sequence_factory(f) for name, f in task.rewards.items()}
    return dataclasses.replace(task, rewards={**task.rewards, **extra})


def variants(task_name: str, reward_model: str | None = None) -> dict[str, list[str]]:
    """Reward flags of each variant for ``task_name``: the task's default rewards (and weights).

    A reward-model folder among them (dialogue's; ``reward_model`` replaces it) is passed as it is; the child's
    ``--model_credit`` picks its per-token credit: ``none`` (the sequence score, densified by
    ``--densify``), its own ``prefix_delta`` (the recipe's), or ``attention``.
    """
    from rlreward.tasks import get_task

    task = get_task(task_name)
    has_model = any(s not in task.rewards for s in task.default_reward)
    weights = ["--reward_weights", *map(str, task.default_weights)] if task.default_weights else []

    def flags(suffix: str, densify: str | None, model_credit: str = "prefix_delta") -> list[str]:
        specs = [s + suffix if s in task.rewards else reward_model or s for s in task.default_reward]
        rewards = [x for s in specs for x in ("--reward", s)]
        credit = ["--model_credit", model_credit] if has_model else []
        return [*rewards, *weights, *(["--densify", densify] if densify else []), *credit]

    # instant: the rewards' own per-token credit (the recipe's --densify applies to none of them)
    out = {"terminal": flags(SEQUENCE, "terminal", "none"), "instant": flags("", None)}
    if task_name == "codegen":  # its native credit is per-line syntax credit, not the prefix delta
        out["prefix_delta"] = flags(SEQUENCE, "prefix_delta")
    if has_model:  # the reward model's score spread over the tokens by its attention
        out["attention"] = flags("", None, "attention")
    return out


def with_model_credit(factory: Any, credit: str) -> Any:
    """A task's classifier factory whose rewards give ``credit`` per token (``none``: sequence scores)."""

    def build(spec: str, tokenizer: Any, label: Any) -> Any:
        model = factory(spec, tokenizer, label)
        model.per_token = None if credit == "none" else credit
        return model

    return build


# ------------------------------------------------------------------------------ one run (child)
def child(argv: Sequence[str]) -> None:
    """One training run in this process: the runner of ``recipes/ppo_<task>.py``, plus held-out
    evaluations every ``--eval_every`` steps written to ``heldout.jsonl``."""
    from rlreward.cli.args import parse_args
    from rlreward.cli.runner import robustness_prompts, run_task
    from rlreward.tasks import EvalContext, get_task
    from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer

    parser = argparse.ArgumentParser()
    parser.add_argument("--task", required=True)
    parser.add_argument("--trainer", choices=["ppo", "reinforce"], default="ppo")
    parser.add_argument("--eval_every", type=int, default=0)
    parser.add_argument("--model_credit", choices=["none", "prefix_delta", "attention"], default=None)
    a, flags = parser.parse_known_args(argv)
    task = with_sequence_rewards(get_task(a.task))
    if a.model_credit is not None:  # a reward-model folder's per-token credit (its name is kept)
        task = dataclasses.replace(task, classifier=with_model_credit(task.classifier, a.model_credit))
    trainer_class, config_class = {
        "ppo": (PPOTrainer, PPOConfig),
        "reinforce": (ReinforceTrainer, ReinforceConfig),
    }[a.trainer]
    extra = (task.options,) if task.options else ()
    yaml_path = ROOT / "recipes" / "configs" / f"ppo_{a.task}.yaml"
    args, config, *rest = parse_args(config_class, flags, default_config=yaml_path, extra=extra)
    options = rest[0] if rest else None
    # The runner holds its held-out items to itself: select the same ones (its code, its order).
    held_out = task.load_data(args, options)["eval"]
    held_out = held_out.select(range(min(args.eval_size, len(held_out))))
    held_out = robustness_prompts(args, held_out, held_out=True)  # the robustness flags, as the runner does
    temperature = args.eval_temperature if args.eval_temperature is not None else config.temperature
    metrics = ITEM_METRICS[a.task]
    curve_path = Path(config.output_dir) / "heldout.jsonl"

    class HeldOutCurve:
        """Every ``eval_every`` steps (not the last: the runner evaluates it), the runner's evaluation."""

        def on_step_end(self, trainer, step_metrics):
            step = trainer.step
            if not a.eval_every or step % a.eval_every or step >= config.max_steps:
                return
            result = trainer.evaluate(held_out, temperature=temperature)  # the runner's seed too
            context = EvalContext(trainer, trainer_rewards, options, temperature)
            point = {"step": step, "samples": step * config.batch_size, **result.metrics}
            point["items"] = {m.name: m.score(result.rows, context) for m in metrics}
            with open(curve_path, "a") as f:
                f.write(json.dumps(point) + "\n")

    trainer_rewards: list[Any] = []

    class Trainer(trainer_class):
        def __init__(self, *args_, **kwargs):
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), HeldOutCurve()]
            super().__init__(*args_, **kwargs)
            trainer_rewards.extend(args_[1] if isinstance(args_[1], list) else [args_[1]])

    curve_path.unlink(missing_ok=True)
    run_task(task, args, config, options, Trainer)


# ------------------------------------------------------------------------------ runs (parent)
def run_one(
    task: str,
    variant: str,
    seed: int,
    steps: int,
    reward_flags: list[str],
    flags: list[str],
    trainer: str,
    eval_every: int,
    out: Path,
    skip_before: bool,
    overwrite: bool,
) -> Path:
    """Run (or reuse) one training run; returns its folder."""
    folder = out / f"{variant}_seed{seed}"
    done = folder / "eval.json"
    fresh = done.exists() and len((folder / "metrics.jsonl").read_text().splitlines()) == steps
    if fresh and not overwrite:
        return folder
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--task", task, "--trainer", trainer]
    command += ["--eval_every", str(eval_every), *flags, *reward_flags]
    command += ["--seed", str(seed), "--max_steps", str(steps), "--output_dir", str(folder)]
    command += ["--progress_bar", "false", "--save_steps", "0", "--overwrite_output_dir", "true"]
    if skip_before:
        command += ["--skip_eval_before", "true"]
    t0 = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ})
    if result.returncode:
        raise SystemExit(
            f"{task} {variant} seed {seed} failed:\n{result.stderr[-3000:]}{result.stdout[-1000:]}"
        )
    print(f"done: {task} {variant} seed {seed} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return folder


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


SAVED_ITEMS = {"dialogue": {"reward_model": "eval/reward_model"}}
"""Per-item metrics read from the runner's ``eval.json`` (they need the run's reward model)."""


def item_scores(task: str, folder: Path, when: str) -> dict[str, list[float]]:
    """The task's per-item metrics of one saved evaluation (``when``: ``before`` or ``after``):
    recomputed from its rows (``samples_<when>.jsonl``), or read from ``eval.json``."""
    if task in SAVED_ITEMS:
        items = json.loads((folder / "eval.json").read_text())["items"][when]
        return {name: items[key] for name, key in SAVED_ITEMS[task].items()}
    context = None  # the saved rows carry every column the metrics read
    return {m.name: m.score(_rows(folder / f"samples_{when}.jsonl"), context) for m in ITEM_METRICS[task]}


def load_run(
    task: str, folder: Path, base_rows: list[dict[str, Any]], before: dict[str, list[float]]
) -> dict[str, Any]:
    """A run's curves and per-item metrics; ``base_rows`` and ``before``: the shared evaluation before
    training (its rows and per-item metrics, computed once)."""
    evaluation = json.loads((folder / "eval.json").read_text())
    after_rows = _rows(folder / "samples_after.jsonl")
    if [r["index"] for r in after_rows] != [r["index"] for r in base_rows]:
        raise ValueError(
            f"{folder}: its held-out items are not the base evaluation's; rerun with --overwrite."
        )
    after = item_scores(task, folder, "after")
    batch = evaluation["samples"] // max(1, len(_rows(folder / "metrics.jsonl")))
    steps = len(_rows(folder / "metrics.jsonl"))
    curve = [{"samples": 0, **{k: float(np.mean(v)) for k, v in before.items()}}]
    if (folder / "heldout.jsonl").exists():
        for p in _rows(folder / "heldout.jsonl"):
            curve.append({"samples": p["samples"], **{k: float(np.mean(v)) for k, v in p["items"].items()}})
    curve.append({"samples": steps * batch, **{k: float(np.mean(v)) for k, v in after.items()}})
    train = [
        {"samples": m["step"] * batch, "reward": m["rewards/mean"]} for m in _rows(folder / "metrics.jsonl")
    ]
    return {
        "folder": str(folder),
        "samples": steps * batch,
        "before": before,
        "after": after,
        "after_metrics": evaluation["after"],
        "heldout_curve": curve,
        "train_curve": train,
        "seconds": evaluation["seconds"],
    }


def trailing_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    return [float(np.mean(values[max(0, i + 1 - window) : i + 1])) for i in range(len(values))]


def analyse(task: str, runs: dict[str, dict[int, dict[str, Any]]], metric: str) -> dict[str, Any]:
    """Intervals, medians over seeds and samples-to-threshold of every variant against terminal."""
    seeds = sorted(runs["terminal"])
    per_run: dict[str, dict[int, dict[str, Any]]] = {}
    for variant, by_seed in runs.items():
        per_run[variant] = {}
        for seed, run in by_seed.items():
            ci = stats.paired_bootstrap_ci(run["after"][metric], run["before"][metric])
            per_run[variant][seed] = {
                "before": float(np.mean(run["before"][metric])),
                "after": float(np.mean(run["after"][metric])),
                "change": ci._asdict(),
                "kl": run["after_metrics"].get("eval/kl"),
                "ref_perplexity": run["after_metrics"].get("eval/ref_perplexity"),
                "mean_length": run["after_metrics"].get("eval/mean_length"),
            }
    summary: dict[str, Any] = {}
    for variant, by_seed in per_run.items():
        changes = {s: r["change"]["mean"] for s, r in by_seed.items()}
        median_seed = sorted(changes, key=lambda s: (changes[s], s))[(len(changes) - 1) // 2]
        summary[variant] = {
            "after": stats.median_range([r["after"] for r in by_seed.values()]),
            "change": stats.median_range(list(changes.values())),
            "median_seed": median_seed,
            "median_seed_change": by_seed[median_seed]["change"],
            "kl": stats.median_range([r["kl"] for r in by_seed.values()]),
            "ref_perplexity": stats.median_range([r["ref_perplexity"] for r in by_seed.values()]),
            "mean_length": stats.median_range([r["mean_length"] for r in by_seed.values()]),
        }
        if variant == "terminal":
            continue
        versus, heldout_ratio, train_ratio = {}, {}, {}
        for seed in seeds:
            run, ref = runs[variant][seed], runs["terminal"][seed]
            versus[seed] = stats.paired_bootstrap_ci(run["after"][metric], ref["after"][metric])._asdict()
            target = ref["heldout_curve"][-1][metric]
            xs = [p["samples"] for p in run["heldout_curve"]]
            ys = [p[metric] for p in run["heldout_curve"]]
            reached = stats.samples_to_threshold(xs, ys, target, interpolate=True)
            heldout_ratio[seed] = None if reached is None else reached / ref["samples"]
            window = max(1, len(ref["train_curve"]) // 4)
            mine = trailing_mean([p["reward"] for p in run["train_curve"]], window)
            theirs = trailing_mean([p["reward"] for p in ref["train_curve"]], window)
            reached = stats.samples_to_threshold([p["samples"] for p in run["train_curve"]], mine, theirs[-1])
            train_ratio[seed] = None if reached is None else reached / ref["samples"]
        diffs = {s: v["mean"] for s, v in versus.items()}
        median_seed = sorted(diffs, key=lambda s: (diffs[s], s))[(len(diffs) - 1) // 2]
        summary[variant].update(
            {
                "versus_terminal": versus,
                "versus_terminal_median": stats.median_range(list(diffs.values())),
                "versus_terminal_median_seed": versus[median_seed],
                "heldout_samples_ratio": heldout_ratio,
                "train_samples_ratio": train_ratio,
                "train_window": max(1, len(runs["terminal"][seeds[0]]["train_curve"]) // 4),
            }
        )
    return {"metric": metric, "per_run": per_run, "summary": summary, "seeds": seeds}


def _ratio_cell(ratios: dict[int, float | None]) -> str:
    values = [math.inf if r is None else r for r in ratios.values()]  # never reached
    med, lo, hi = stats.median_range(values)

    def fmt(x: float) -> str:
        return "never" if math.isinf(x) else f"{x:.2f}x"

    per_seed = ", ".join(fmt(v) for v in values)
    return f"{fmt(med)} ({fmt(lo)}-{fmt(hi)}; seeds: {per_seed})"


def markdown(task: str, analysis: dict[str, Any], settings: dict[str, Any]) -> str:
    m, summary = analysis["metric"], analysis["summary"]
    s = settings
    lines = [
        f"{task}, {s['trainer']}: {s['steps']} steps x {s['batch_size']} samples, seeds {analysis['seeds']}, "
        f"held-out per-item {m} on {s['items']} items (evaluation temperature {s['eval_temperature']}, "
        f"fixed per-prompt seeds); flags `{' '.join(s['flags'])}`. Median (range) over seeds; 95% paired "
        "bootstrap intervals over items for the median seed.",
        "",
        f"| variant | {m} before | {m} after | after - before, median seed [95% CI] | vs terminal, "
        "median seed [95% CI] | samples to terminal's final, held-out | same, training batches | "
        "KL | ref perplexity |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = next(iter(analysis["per_run"]["terminal"].values()))["before"]
    for variant, v in summary.items():
        versus = stats.Interval(**v["versus_terminal_median_seed"]).fmt() if "versus_terminal" in v else ""
        ratio_h = _ratio_cell(v["heldout_samples_ratio"]) if "heldout_samples_ratio" in v else ""
        ratio_t = _ratio_cell(v["train_samples_ratio"]) if "train_samples_ratio" in v else ""
        cells = [
            variant,
            f"{base:.3f}",
            stats.fmt_median_range(v["after"]),
            f"{stats.Interval(**v['median_seed_change']).fmt()} (seed {v['median_seed']})",
            versus,
            ratio_h,
            ratio_t,
            stats.fmt_median_range(v["kl"], 2),
            stats.fmt_median_range(v["ref_perplexity"], 2),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per run:",
        "",
        f"| variant | seed | {m} after | after - before [95% CI] | KL | ref perplexity |",
    ]
    lines.append("|---|---|---|---|---|---|")
    for variant, by_seed in analysis["per_run"].items():
        for seed, r in sorted(by_seed.items()):
            change = stats.Interval(**r["change"]).fmt()
            lines.append(
                f"| {variant} | {seed} | {r['after']:.3f} | {change} | {r['kl']:.2f} | {r['ref_perplexity']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def plot(task: str, runs: dict[str, dict[int, dict[str, Any]]], metric: str, window: int, path: Path) -> None:
    """Held-out metric and smoothed training reward against samples: median over seeds, min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for variant, by_seed in runs.items():
        curves = [[p[metric] for p in r["heldout_curve"]] for r in by_seed.values()]
        xs = [p["samples"] for p in next(iter(by_seed.values()))["heldout_curve"]]
        y = np.array(curves)
        (line,) = ax1.plot(xs, np.median(y, 0), marker="o", label=variant)
        ax1.fill_between(xs, y.min(0), y.max(0), color=line.get_color(), alpha=0.2)
        train = np.array(
            [trailing_mean([p["reward"] for p in r["train_curve"]], window) for r in by_seed.values()]
        )
        txs = [p["samples"] for p in next(iter(by_seed.values()))["train_curve"]]
        ax2.plot(txs, np.median(train, 0), color=line.get_color(), label=variant)
        ax2.fill_between(txs, train.min(0), train.max(0), color=line.get_color(), alpha=0.2)
    ax1.set(xlabel="samples generated", ylabel=f"held-out {metric}", title=f"{task}: held-out {metric}")
    ax2.set(
        xlabel="samples generated",
        ylabel=f"training reward (trailing mean of {window} steps)",
        title="training batches",
    )
    ax1.legend()
    ax2.legend()
    fig.suptitle(f"{task}: median and range over {len(next(iter(runs.values())))} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def benchmark(
    task: str,
    seeds: Sequence[int],
    steps: int | None = None,
    trainer: str = "ppo",
    eval_every: int | None = None,
    flags: Sequence[str] = (),
    output_dir: str = "outputs/dense_vs_sparse",
    overwrite: bool = False,
    only: Sequence[str] | None = None,
    reward_model: str | None = None,
) -> dict[str, Any]:
    """Every variant x seed, then :func:`analyse`; writes results.json, table.md and the plot."""
    sys.path.insert(0, str(HERE))
    from learnability import recipe_config

    args, config, _ = recipe_config(task, list(flags))
    steps = steps or config.max_steps
    eval_every = max(1, steps // 4) if eval_every is None else eval_every
    out = Path(output_dir) / task
    out.mkdir(parents=True, exist_ok=True)
    chosen = {
        k: v for k, v in variants(task, reward_model).items() if only is None or k in only or k == "terminal"
    }
    runs: dict[str, dict[int, dict[str, Any]]] = {v: {} for v in chosen}
    base_folder = None
    for seed in seeds:
        for variant, reward_flags in chosen.items():
            run = functools.partial(
                run_one, task, variant, seed, steps, reward_flags, list(flags), trainer, eval_every, out
            )
            folder = run(skip_before=base_folder is not None, overwrite=overwrite)
            if base_folder is None:
                if not (folder / "samples_before.jsonl").exists():  # reused without its base: rerun it
                    folder = run(skip_before=False, overwrite=True)
                base_folder = folder
            runs[variant][seed] = folder
    base_rows = _rows(base_folder / "samples_before.jsonl")
    before = item_scores(task, base_folder, "before")  # once: codegen's reruns the tests
    loaded = {
        v: {s: load_run(task, f, base_rows, before) for s, f in by_seed.items()}
        for v, by_seed in runs.items()
    }
    metric = ITEM_METRICS[task][0].name
    analysis = analyse(task, loaded, metric)
    temperature = args.eval_temperature if args.eval_temperature is not None else config.temperature
    settings = {
        "trainer": trainer,
        "steps": steps,
        "batch_size": config.batch_size,
        "eval_every": eval_every,
        "items": len(base_rows),
        "eval_temperature": temperature,
        "flags": list(flags),
        "variants": chosen,
    }
    table = markdown(task, analysis, settings)
    window = max(1, steps // 4)
    plot(task, loaded, metric, window, out / f"dense_vs_sparse_{task}.png")
    record = {"task": task, "settings": settings, "analysis": analysis, "runs": loaded}
    (out / "results.json").write_text(json.dumps(record, indent=1, default=str))
    (out / "table.md").write_text(table)
    return record | {"table": table}


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        child(argv[1:])
        return None
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", required=True, choices=list(ITEM_METRICS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="Training steps (the recipe's max_steps).")
    parser.add_argument("--trainer", choices=["ppo", "reinforce"], default="ppo")
    parser.add_argument("--eval_every", type=int, default=None, help="Held-out checkpoints (steps // 4).")
    parser.add_argument("--variants", nargs="+", default=None, help="Only these besides terminal.")
    parser.add_argument("--model", default=None, help="Policy (the recipe's model_name_or_path otherwise).")
    parser.add_argument(
        "--reward_model", default=None, help="Reward-model folder in place of the task's default (dialogue)."
    )
    parser.add_argument("--output_dir", default="outputs/dense_vs_sparse")
    parser.add_argument("--overwrite", action="store_true", help="Rerun finished runs.")
    a = parser.parse_args(argv)
    if a.model:
        flags = ["--model_name_or_path", a.model, *flags]
    record = benchmark(
        a.task,
        a.seeds,
        a.steps,
        a.trainer,
        a.eval_every,
        flags,
        a.output_dir,
        a.overwrite,
        a.variants,
        a.reward_model,
    )
    print(record["table"])
    return record


if __name__ == "__main__":
    main()
