"""Outcome-only RL against outcome + checker step rewards on the arithmetic task, at equal rollouts.

For each seed, two runs from the same base policy, the same prompts in the same order and the same
number of sampled completions (``--steps`` x ``--batch_size``):

* ``outcome``: ``OutcomeReward`` alone (1/0 on the last token);
* ``outcome+steps``: ``OutcomeReward x 1 + CheckerStepReward x --step_weight`` (``+-1/S`` at the end
  of each step line, first-error labels; ``rlreward/rewards/process.py``);
* ``outcome+prm`` (``--variants outcome outcome+prm``): ``OutcomeReward x 1 + ProcessReward x
  --step_weight``, the trained PRM of ``recipes/train_prm.py`` (``--prm``) in the checker's place,
  ``(2p - 1)/S`` at the end of each step line;
* ``outcome+implicit``: ``OutcomeReward x 1 + ImplicitPRM x --step_weight``, PRIME's implicit PRM
  (``rlreward/rewards/implicit.py``) updated online on each batch's outcome labels before scoring it.

Trainer: REINFORCE with ``--k`` completions per prompt and the per-position leave-one-out baseline
over returns-to-go (``rlreward.trainers.ReinforceTrainer``), LoRA, per-token KL penalty. The task's
settings (problem size, worked examples, prompt format, completion length, held-out size) are the
recipe's, read from ``recipes/configs/ppo_arithmetic.yaml``.

Measured: greedy exact-match accuracy on the held-out problems before training (once: every run
starts from the same policy, LoRA's B being zero), at ``--eval_every`` checkpoints and after. Then

1. per run, ``after - before`` with a 95% paired bootstrap interval over problems;
2. per seed, ``(outcome+steps) - outcome`` after training, paired the same way;
3. rollouts-to-threshold: the completions each step-reward variant needs on its held-out curve (linear
   between checkpoints) to reach outcome-only's final accuracy, and the ratio to the budget;
   runs score the first ``--curve_size`` held-out problems (the base policy: all ``--eval_size``);
4. wall time per training step of each variant;
5. ``docs/img/arithmetic_process_rewards.png``: held-out accuracy against rollouts, per seed.

Run (under the shared lock on the 2-core machine):

    python benchmarks/process_rewards.py --seeds 0 1 2 --steps 12 --eval_every 4 --curve_size 64

Results: ``--output_dir/results.json`` and ``table.md``; finished runs (``run_<variant>_<seed>.json``)
are reused unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RECIPE_YAML = ROOT / "recipes" / "configs" / "ppo_arithmetic.yaml"
VARIANTS = ("outcome", "outcome+steps", "outcome+prm", "outcome+implicit")
DEFAULT_VARIANTS = ("outcome", "outcome+steps")  # outcome+prm needs a trained PRM (--prm)


def paired_bootstrap(after, before=None) -> tuple[float, float, float]:
    """Mean of ``after_i - before_i`` and its 95% percentile-bootstrap interval over items."""
    from rlreward.stats import paired_bootstrap_ci

    return tuple(paired_bootstrap_ci(after, before))


def fmt(interval: tuple[float, float, float]) -> str:
    return f"{interval[0]:+.3f} [{interval[1]:+.3f}, {interval[2]:+.3f}]"


def rollouts_to_reach(curve: list[tuple[int, float]], target: float) -> float | None:
    """First rollout count at which the piecewise-linear ``curve`` reaches ``target`` (None: never)."""
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if y1 >= target:
            if y0 >= target:
                return float(x0)
            return x0 + (target - y0) / (y1 - y0) * (x1 - x0)
    return None


def recipe_settings() -> dict:
    import yaml

    return yaml.safe_load(RECIPE_YAML.read_text())


def held_out_scores(result) -> list[float]:
    from rlreward.tasks.arithmetic import check_completion, parse_problem

    return [
        float(check_completion(parse_problem(r["problem"]), r["completion"]).correct) for r in result.rows
    ]


def build(args, variant: str, seed: int, settings: dict):
    """The trainer of one run, and its held-out data."""
    from rlreward.models import load_causal_lm
    from rlreward.rewards.process import CheckerStepReward, OutcomeReward
    from rlreward.tasks.arithmetic import ArithmeticArguments, ArithmeticChecker, generated_splits
    from rlreward.trainers import ReinforceConfig, ReinforceTrainer

    options = ArithmeticArguments(
        **{k: settings[k] for k in ("num_terms", "digits", "shots", "num_train", "problem_seed")}
    )
    splits = generated_splits(options, args.eval_size or settings["eval_size"])
    model, tokenizer = load_causal_lm(args.model or settings["model_name_or_path"])
    checker = ArithmeticChecker()
    rewards, weights = [OutcomeReward(checker)], [1.0]
    if variant == "outcome+steps":
        rewards.append(CheckerStepReward(checker, tokenizer=tokenizer))
        weights.append(args.step_weight)
    if variant == "outcome+prm":
        from rlreward.rewards.process import CheckerSteps, ProcessReward

        if not Path(args.prm).is_dir():
            raise SystemExit(
                f"error: --prm {args.prm} does not exist; train one with python recipes/train_prm.py."
            )
        rewards.append(ProcessReward(args.prm, tokenizer=tokenizer, segment=CheckerSteps(checker)))
        weights.append(args.step_weight)
    if variant == "outcome+implicit":  # PRIME: a second copy of the base with its own adapter, online
        from rlreward.rewards.implicit import ImplicitPRM

        prm_model, _ = load_causal_lm(args.model or settings["model_name_or_path"])
        rewards.append(ImplicitPRM(prm_model, tokenizer, online=OutcomeReward(checker), seed=seed))
        weights.append(args.step_weight)
    config = ReinforceConfig(
        output_dir=str(Path(args.output_dir) / f"{variant}_{seed}"),
        seed=seed,
        max_steps=args.steps,
        batch_size=args.batch_size,
        mini_batch_size=args.batch_size,
        micro_batch_size=args.batch_size,
        num_epochs=1,
        num_generations=args.k,
        max_prompt_length=settings["max_prompt_length"],
        max_new_tokens=settings["max_new_tokens"],
        use_chat_template=settings["use_chat_template"],
        temperature=settings["temperature"],
        learning_rate=args.learning_rate,
        kl_coef=args.kl_coef,
        advantage_estimator=args.advantage_estimator,
        scale_rewards=args.scale_rewards,
        baseline_per_source=args.baseline_per_source and len(rewards) > 1,
        save_steps=0,
        sample_steps=0,
        progress_bar=False,
    )
    trainer = ReinforceTrainer(
        model, rewards, splits["train"], config, tokenizer=tokenizer, reward_weights=weights
    )
    return trainer, splits["eval"]


LATER_DEFAULTS = {"advantage_estimator": "rloo", "scale_rewards": False}  # not stored at first


def run_settings(args, variant: str) -> dict:
    """What a run's result depends on, beyond its variant and seed: stored with it, checked on reuse."""
    keys = ["model", "steps", "batch_size", "k", "learning_rate", "kl_coef", "eval_every", "eval_size"]
    keys += ["curve_size", "advantage_estimator", "scale_rewards"]
    if variant != "outcome":
        keys += ["step_weight", "baseline_per_source"]
    if variant == "outcome+prm":
        keys.append("prm")
    return {key: getattr(args, key) for key in keys}


def reuse(path: Path, args, variant: str) -> dict:
    """A finished run's result, refusing one made with other settings (an old file without them is taken)."""
    result = json.loads(path.read_text())
    if "settings" not in result:
        return result
    wanted = run_settings(args, variant)
    # settings added after the file was written had their defaults then
    stored = {key: result["settings"].get(key, LATER_DEFAULTS.get(key)) for key in wanted}
    changed = [f"--{key} {stored[key]} -> {wanted[key]}" for key in wanted if stored[key] != wanted[key]]
    if changed:
        raise SystemExit(
            f"error: {path} was run with other settings ({', '.join(changed)}); pass another "
            "--output_dir (or --overwrite to replace it)."
        )
    return result


def run(args, variant: str, seed: int, settings: dict, base: list[float] | None) -> dict:
    trainer, held_out = build(args, variant, seed, settings)
    t0 = time.perf_counter()
    before = base if base is not None else held_out_scores(trainer.evaluate(held_out, temperature=0.0))
    eval_s = time.perf_counter() - t0
    base = before
    n = args.curve_size or len(before)  # a run scores the first n held-out problems
    before = before[:n]
    curve = [(0, float(np.mean(before)))]
    subset = held_out.select(range(n))
    step_seconds, train_reward = [], []
    after = before
    for step in range(1, args.steps + 1):
        metrics = trainer.train_step()
        step_seconds.append(metrics["perf/step_s"])
        train_reward.append(metrics.get("rewards/outcome/accuracy", metrics.get("rewards/accuracy")))
        if step == args.steps or (args.eval_every and step % args.eval_every == 0):
            after = held_out_scores(trainer.evaluate(subset, temperature=0.0))
            curve.append((step * args.batch_size, float(np.mean(after))))
            print(f"  {variant} seed {seed} step {step}: accuracy on {n} {curve[-1][1]:.3f}", flush=True)
    return {
        "variant": variant,
        "seed": seed,
        "base": base,
        "before": before,
        "after": after,
        "curve": curve,
        "train_accuracy": train_reward,
        "step_seconds": step_seconds,
        "eval_seconds": eval_s,
    }


def analyse(runs: dict, seeds: list[int], budget: int, base: list[float]) -> dict:
    out = {"per_run": {}, "per_seed": {}, "base": {"n": len(base), "accuracy": paired_bootstrap(base)}}
    for (variant, seed), r in runs.items():
        out["per_run"][f"{variant}/{seed}"] = {
            "before": float(np.mean(r["before"])),
            "after": float(np.mean(r["after"])),
            "change": paired_bootstrap(r["after"], r["before"]),
            "step_s": float(np.median(r["step_seconds"])),
        }
    for seed in seeds:
        o = runs.get(("outcome", seed))
        for variant in VARIANTS[1:]:
            s = runs.get((variant, seed))
            if o is None or s is None:
                continue
            target = o["curve"][-1][1]
            reach = rollouts_to_reach(s["curve"], target)
            out["per_seed"][f"{variant}/{seed}"] = {
                "minus_outcome": paired_bootstrap(s["after"], o["after"]),
                "outcome_final": target,
                "rollouts_to_outcome_final": reach,
                "ratio": None if reach is None else reach / budget,
            }
    return out


def markdown(analysis: dict, args, settings: dict) -> str:
    lines = [
        f"REINFORCE (k={args.k}), {args.steps} steps x {args.batch_size} completions = "
        f"{args.steps * args.batch_size} rollouts per run; {settings['num_terms']} terms of "
        f"{settings['digits']} digit(s), {settings['shots']} worked examples; greedy exact match on "
        f"the first {args.curve_size or args.eval_size or settings['eval_size']} held-out problems; "
        "95% paired bootstrap intervals over problems.",
        "",
        f"Base policy, greedy, all {analysis['base']['n']} held-out problems: "
        f"{fmt(analysis['base']['accuracy'])} (bootstrap 95% interval).",
        "",
        "| seed | variant | before | after | after - before | step s (median) |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in analysis["per_run"].items():
        variant, seed = key.rsplit("/", 1)
        lines.append(
            f"| {seed} | {variant} | {r['before']:.3f} | {r['after']:.3f} | {fmt(r['change'])} | {r['step_s']:.1f} |"
        )
    lines += [
        "",
        "| seed | variant | variant - outcome, after | rollouts to outcome-only's final (ratio) |",
        "|---|---|---|---|",
    ]
    for key, r in analysis["per_seed"].items():
        variant, seed = key.rsplit("/", 1)
        reach = (
            "never"
            if r["rollouts_to_outcome_final"] is None
            else (f"{r['rollouts_to_outcome_final']:.0f} ({r['ratio']:.2f}x)")
        )
        lines.append(f"| {seed} | {variant} | {fmt(r['minus_outcome'])} | {reach} |")
    return "\n".join(lines) + "\n"


def plot(runs: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    colours = {
        "outcome": "tab:blue",
        "outcome+steps": "tab:orange",
        "outcome+prm": "tab:green",
        "outcome+implicit": "tab:red",
    }
    for (variant, seed), r in sorted(runs.items()):
        xs, ys = zip(*r["curve"])
        ax.plot(
            xs,
            ys,
            marker="o",
            color=colours[variant],
            alpha=0.8,
            label=variant if seed == min(s for v, s in runs if v == variant) else None,
        )
    ax.set_xlabel("rollouts (sampled completions)")
    ax.set_ylabel("held-out greedy accuracy")
    ax.set_title("Arithmetic: outcome-only vs outcome + step rewards")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--model", default=None, help="Policy (the recipe's model_name_or_path otherwise).")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--k", type=int, default=4, help="Completions per prompt.")
    parser.add_argument("--learning_rate", type=float, default=3e-4)
    parser.add_argument("--kl_coef", type=float, default=0.05)
    parser.add_argument("--step_weight", type=float, default=0.5)
    parser.add_argument(
        "--baseline_per_source",
        action="store_true",
        help="Step-reward variants: the group baseline (and GRPO's scaling) per reward source, then "
        "summed (PRIME). With rloo, or grpo without --scale_rewards, it changes nothing: the baseline "
        "is linear.",
    )
    parser.add_argument("--advantage_estimator", choices=("rloo", "grpo"), default="rloo")
    parser.add_argument(
        "--scale_rewards", action="store_true", help="grpo: divide by the group's std per position."
    )
    parser.add_argument("--eval_every", type=int, default=8)
    parser.add_argument("--eval_size", type=int, default=None, help="Held-out problems (the recipe's).")
    parser.add_argument(
        "--curve_size",
        type=int,
        default=None,
        help="Problems a run scores (its checkpoints and after); the base is scored on all of --eval_size.",
    )
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), choices=VARIANTS)
    parser.add_argument(
        "--prm", default="outputs/prm_arithmetic", help="outcome+prm: the trained PRM's folder."
    )
    parser.add_argument("--output_dir", default="outputs/process_rewards")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "img" / "arithmetic_process_rewards.png"))
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument(
        "--base_from",
        default=None,
        help="benchmarks/arithmetic_probe.py --json output with the recipe's settings: reuse its greedy "
        "per-problem scores as the base policy's instead of evaluating it again.",
    )
    args = parser.parse_args()

    settings = recipe_settings()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    base_file = out / "base.json"
    base = json.loads(base_file.read_text()) if base_file.is_file() and not args.overwrite else None
    if base is None and args.base_from:  # the probe's greedy pass: the same problems, the same policy
        base = json.loads(Path(args.base_from).read_text())["greedy"]["items"]
        base_file.write_text(json.dumps(base))
    paths = {(v, seed): out / f"run_{v}_{seed}.json" for seed in args.seeds for v in args.variants}
    runs = {  # every finished run checked before anything runs
        key: reuse(path, args, key[0]) for key, path in paths.items() if path.is_file() and not args.overwrite
    }
    for (variant, seed), path in paths.items():
        if (variant, seed) in runs:
            continue
        print(f"run {variant} seed {seed}", flush=True)
        result = run(args, variant, seed, settings, base)
        if base is None:
            base = result["base"]
            base_file.write_text(json.dumps(base))
        result["settings"] = run_settings(args, variant)
        path.write_text(json.dumps(result))
        runs[(variant, seed)] = result
    runs = {key: runs[key] for key in paths}  # seed-major order, as before
    analysis = analyse(runs, args.seeds, args.steps * args.batch_size, base)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "analysis": analysis}, indent=2))
    table = markdown(analysis, args, settings)
    (out / "table.md").write_text(table)
    print(table)
    if args.plot:
        plot(runs, Path(args.plot))


if __name__ == "__main__":
    main()
