"""Robustness: do instant rewards degrade less than terminal ones under noise and length? (issue 14, section 1)

Each *setting* is one run of ``benchmarks/dense_vs_sparse.py`` (terminal vs instant rewards, same
budget, seeds and held-out items) with the recipe's flags for that setting added:

* ``clean``: nothing added (the reference every other setting is compared with);
* ``sigma=S``: Gaussian noise on every training reward, ``S`` x the reward's running std
  (``--reward_noise``; per-token rewards get the same total noise, split over their tokens);
* ``flip=P``: a share ``P`` of training rewards flipped (``--reward_flip``; ``--flip_mode label`` for
  pass/fail rewards, ``sign`` otherwise);
* ``typos=R``: a share ``R`` of the words of the training prompts dropped or misspelt
  (``--prompt_noise``), evaluated on the clean held-out prompts;
* ``typos_eval=R``: the same, evaluated on held-out prompts with the same noise (``--eval_prompt_noise``);
* ``long=F``: prompts ``F`` times longer (``F - 1`` other prompts before each, one per line:
  ``--prompt_length_factor``) and completions 2x longer (``--max_new_tokens``), both splits.

Evaluation rewards are always clean (the reward is frozen). Reported per setting and method: the
held-out metric after training (median and range over seeds) and its change from the base; where the
setting evaluates on the clean items (``sigma``, ``flip``, ``typos``), the *degradation*: per seed,
``after(setting) - after(clean)`` with a 95% paired bootstrap interval over items, and the
*interaction* ``[instant(setting) - instant(clean)] - [terminal(setting) - terminal(clean)]`` (above 0:
instant degrades less), paired over the same items and seeds. ``robustness_<task>.png``: metric
against setting, one line per method, band over seeds.

Run (every setting's runs are reused when finished, so settings can be added later):

    python benchmarks/robustness.py --task sentiment --seeds 0 1 2 --steps 12 \\
        --settings clean sigma=0.5 flip=0.3 -- --num_threads 1

Results: ``<output_dir>/<task>/{robustness.json,robustness.md,robustness_<task>.png}``, and each
setting's dense_vs_sparse folder ``<output_dir>/<setting>/<task>/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dense_vs_sparse as dvs  # noqa: E402
import stats  # noqa: E402

KINDS = ("clean", "sigma", "flip", "typos", "typos_eval", "long")
CLEAN_EVAL = ("clean", "sigma", "flip", "typos")  # settings evaluated on the clean held-out items


def parse_setting(text: str) -> tuple[str, float]:
    """``"sigma=0.5"`` -> ``("sigma", 0.5)``; ``"clean"`` -> ``("clean", 0.0)``."""
    kind, _, value = text.partition("=")
    if kind not in KINDS or (kind == "clean") != (value == ""):
        raise ValueError(f"setting {text!r}: use clean, or one of {', '.join(KINDS[1:])} as name=value.")
    try:
        number = float(value) if value else 0.0
    except ValueError:
        raise ValueError(f"setting {text!r}: {value!r} is not a number.") from None
    if kind == "long" and (number < 1 or number != int(number)):
        raise ValueError(f"setting {text!r}: the length factor is a whole number >= 1.")
    return kind, number


def setting_flags(text: str, flip_mode: str, max_new_tokens: int) -> list[str]:
    """The recipe flags of one setting (``max_new_tokens``: the recipe's, doubled for ``long``)."""
    kind, value = parse_setting(text)
    return {
        "clean": [],
        "sigma": ["--reward_noise", str(value)],
        "flip": ["--reward_flip", str(value), "--reward_flip_mode", flip_mode],
        "typos": ["--prompt_noise", str(value)],
        "typos_eval": ["--prompt_noise", str(value), "--eval_prompt_noise", str(value)],
        "long": ["--prompt_length_factor", str(int(value)), "--max_new_tokens", str(2 * max_new_tokens)],
    }[kind]


def _after_items(record: dict[str, Any], variant: str, seed: int, metric: str) -> list[float]:
    return record["runs"][variant][seed]["after"][metric]


def _drops(
    record: dict[str, Any], clean: dict[str, Any], variant: str, seeds: list, metric: str
) -> np.ndarray:
    """Per item, ``after(setting) - after(clean)``, the seeds one after another."""
    return np.concatenate(
        [
            np.subtract(_after_items(record, variant, s, metric), _after_items(clean, variant, s, metric))
            for s in seeds
        ]
    )


def _median_seed_degradation(entry: dict[str, Any]) -> str:
    """The degradation interval of the median seed (by its mean), or "" where there is none."""
    if "degradation" not in entry:
        return ""
    per_seed = entry["degradation"]
    values = {s: d["mean"] for s, d in per_seed.items()}
    median_seed = sorted(values, key=lambda s: (values[s], s))[(len(values) - 1) // 2]
    return stats.Interval(**per_seed[median_seed]).fmt()


def analyse(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per setting and method: metric after, change; against ``clean``: degradation and interaction."""
    first = next(iter(records.values()))
    metric = first["analysis"]["metric"]
    seeds = first["analysis"]["seeds"]
    out: dict[str, Any] = {"metric": metric, "seeds": seeds, "settings": {}}
    clean = records.get("clean")
    for name, record in records.items():
        summary = record["analysis"]["summary"]
        entry: dict[str, Any] = {}
        for variant in ("terminal", "instant"):
            v = summary[variant]
            entry[variant] = {
                "after": v["after"],
                "change": v["change"],
                "median_seed_change": v["median_seed_change"],
                "per_seed_after": {s: r["after"] for s, r in record["analysis"]["per_run"][variant].items()},
            }
        entry["instant_vs_terminal"] = summary["instant"].get("versus_terminal_median_seed")
        entry["instant_vs_terminal_median"] = summary["instant"].get("versus_terminal_median")
        kind = parse_setting(name)[0]
        if clean is not None and kind in CLEAN_EVAL and name != "clean":
            for variant in ("terminal", "instant"):
                per_seed = {
                    s: stats.paired_bootstrap_ci(
                        _after_items(record, variant, s, metric), _after_items(clean, variant, s, metric)
                    )._asdict()
                    for s in seeds
                }
                entry[variant]["degradation"] = per_seed
                entry[variant]["degradation_median"] = stats.median_range(
                    [d["mean"] for d in per_seed.values()]
                )
            # instant's drop minus terminal's drop, per item, pooled over seeds (same items each seed)
            a, b = (_drops(record, clean, v, seeds, metric) for v in ("instant", "terminal"))
            entry["interaction"] = stats.paired_bootstrap_ci(a, b)._asdict()
        out["settings"][name] = entry
    return out


def markdown(task: str, analysis: dict[str, Any], settings: dict[str, Any]) -> str:
    m = analysis["metric"]
    lines = [
        f"{task}: {settings['trainer']}, {settings['steps']} steps x {settings['batch_size']} samples, seeds "
        f"{analysis['seeds']}, held-out {m} on {settings['items']} items. Median (range) over seeds; "
        "95% paired bootstrap intervals over items. Degradation: after(setting) - after(clean), median "
        "seed; instant - terminal degradation: pooled over seeds (> 0: instant degrades less).",
        "",
        f"| setting | terminal {m} after | instant {m} after | instant - terminal, median seed | "
        "terminal degradation | instant degradation | instant - terminal degradation |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, e in analysis["settings"].items():
        versus = stats.Interval(**e["instant_vs_terminal"]).fmt() if e["instant_vs_terminal"] else ""
        inter = stats.Interval(**e["interaction"]).fmt() if "interaction" in e else ""
        cells = [
            name,
            stats.fmt_median_range(e["terminal"]["after"]),
            stats.fmt_median_range(e["instant"]["after"]),
            versus,
            _median_seed_degradation(e["terminal"]),
            _median_seed_degradation(e["instant"]),
            inter,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(task: str, analysis: dict[str, Any], path: Path) -> None:
    """Metric after training against setting: median over seeds, min-max band, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(analysis["settings"])
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(names)), 3.8))
    for variant in ("terminal", "instant"):
        med = [analysis["settings"][n][variant]["after"][0] for n in names]
        lo = [analysis["settings"][n][variant]["after"][1] for n in names]
        hi = [analysis["settings"][n][variant]["after"][2] for n in names]
        (line,) = ax.plot(range(len(names)), med, marker="o", label=variant)
        ax.fill_between(range(len(names)), lo, hi, color=line.get_color(), alpha=0.2)
    ax.set_xticks(range(len(names)), names)
    ax.set(ylabel=f"held-out {analysis['metric']} after training", title=f"{task}: robustness")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def benchmark(
    task: str,
    seeds: Sequence[int],
    settings: Sequence[str],
    steps: int | None = None,
    trainer: str = "ppo",
    eval_every: int | None = None,
    flags: Sequence[str] = (),
    output_dir: str = "outputs/robustness",
    flip_mode: str = "sign",
    overwrite: bool = False,
) -> dict[str, Any]:
    from learnability import recipe_config

    for name in settings:
        parse_setting(name)  # every setting checked before any run
    _, config, _ = recipe_config(task, list(flags))
    records = {}
    for name in settings:
        extra = setting_flags(name, flip_mode, config.max_new_tokens)
        records[name] = dvs.benchmark(
            task, seeds, steps, trainer, eval_every, [*flags, *extra], str(Path(output_dir) / name), overwrite
        )
    analysis = analyse(records)
    first = next(iter(records.values()))["settings"]
    table = markdown(task, analysis, first)
    out = Path(output_dir) / task
    out.mkdir(parents=True, exist_ok=True)
    plot(task, analysis, out / f"robustness_{task}.png")
    (out / "robustness.json").write_text(
        json.dumps({"task": task, "analysis": analysis}, indent=1, default=str)
    )
    (out / "robustness.md").write_text(table)
    return {"analysis": analysis, "table": table}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", required=True, choices=[t for t in dvs.ITEM_METRICS if t != "dialogue"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", default=["clean", "sigma=0.5", "flip=0.3"])
    parser.add_argument("--steps", type=int, default=None, help="Training steps (the recipe's max_steps).")
    parser.add_argument("--trainer", choices=["ppo", "reinforce"], default="ppo")
    parser.add_argument("--eval_every", type=int, default=None)
    parser.add_argument("--flip_mode", choices=["sign", "label"], default="sign")
    parser.add_argument("--output_dir", default="outputs/robustness")
    parser.add_argument("--overwrite", action="store_true")
    a = parser.parse_args(argv)
    try:
        for name in a.settings:
            parse_setting(name)
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    if "clean" not in a.settings:
        print("note: without the clean setting there is no degradation to report.", file=sys.stderr)
    result = benchmark(
        a.task,
        a.seeds,
        a.settings,
        a.steps,
        a.trainer,
        a.eval_every,
        flags,
        a.output_dir,
        a.flip_mode,
        a.overwrite,
    )
    print(result["table"])
    return result


if __name__ == "__main__":
    main()
