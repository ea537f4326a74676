"""A recipe's default run over several training seeds: per-seed paired intervals, median and range.

For each seed, ``python recipes/ppo_<task>.py --seed S --output_dir <output_dir>/seed_S`` (plus any
flags after ``--``), unless that folder already holds a finished run (``eval.json``), which is reused.
Then, from each run's ``eval.json`` (``paired``: the per-item after - before difference over the same
held-out items and evaluation seeds, with its 95% paired bootstrap interval):

* per seed and metric: before, after, the difference and its interval, and whether it excludes 0;
* over seeds: the median and range of ``after`` and of the difference, and the median seed's
  interval (the seed whose difference is the median).

    python benchmarks/recipe_seeds.py --task qa --seeds 0 1 2 --output_dir outputs/seeds_qa
    python benchmarks/recipe_seeds.py --task qa --seeds 0 1 2 --output_dir outputs/seeds_qa -- --num_threads 1

``--against <other output_dir>``: another configuration's finished runs of the same seeds (for
example ``-- --reward outcome``, run into its own folder): per seed and metric, this configuration's
``after`` minus the other's on the same held-out items (the per-item values in ``eval.json``), with
its 95% paired bootstrap interval, and the median over seeds.

Writes ``<output_dir>/seeds.json`` and ``seeds.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_seed(task: str, seed: int, folder: Path, flags: list[str]) -> dict:
    if not (folder / "eval.json").is_file():
        command = [sys.executable, str(ROOT / "recipes" / f"ppo_{task}.py"), "--seed", str(seed)]
        command += ["--output_dir", str(folder), *flags]
        print(" ".join(command), flush=True)
        done = subprocess.run(command, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"error: seed {seed} failed (exit {done.returncode}); see its output above.")
    return json.loads((folder / "eval.json").read_text())


def summarise(runs: dict[int, dict]) -> dict:
    """Per metric: per-seed rows and the over-seed median/range of after and of the difference."""
    metrics = sorted({m for r in runs.values() for m in r.get("paired", {})})
    out = {}
    for m in metrics:
        rows = {
            seed: {
                "before": r["before"][m] if r.get("before") else None,
                "after": r["after"][m],
                "diff": r["paired"][m]["diff"],
                "ci": [r["paired"][m]["ci_low"], r["paired"][m]["ci_high"]],
            }
            for seed, r in runs.items()
            if m in r.get("paired", {})
        }
        diffs = [row["diff"] for row in rows.values()]
        order = sorted(rows, key=lambda s: rows[s]["diff"])
        median_seed = order[(len(order) - 1) // 2]
        out[m] = {
            "seeds": rows,
            "after_median": float(np.median([row["after"] for row in rows.values()])),
            "after_range": [
                min(row["after"] for row in rows.values()),
                max(row["after"] for row in rows.values()),
            ],
            "diff_median": float(np.median(diffs)),
            "diff_range": [min(diffs), max(diffs)],
            "median_seed": median_seed,
            "median_seed_ci_excludes_0": rows[median_seed]["ci"][0] > 0 or rows[median_seed]["ci"][1] < 0,
            "seeds_ci_above_0": sum(row["ci"][0] > 0 for row in rows.values()),
        }
    return out


def item_values(folder: Path) -> dict[str, list[float]]:
    """A finished run's per-item held-out metrics after training (``eval.json``'s ``items``)."""
    items = (json.loads((folder / "eval.json").read_text()).get("items") or {}).get("after")
    if not items:
        raise SystemExit(
            f"error: {folder}/eval.json has no per-item values (older runs lack them); rerun it."
        )
    return items


def compare(mine: dict[int, Path], theirs: dict[int, Path]) -> dict:
    """Per metric: per seed, this run's after - the other's, paired over the held-out items."""
    from rlreward.stats import paired_bootstrap_ci

    out: dict[str, dict] = {}
    for seed in mine:
        a, b = item_values(mine[seed]), item_values(theirs[seed])
        for m in sorted(set(a) & set(b)):
            if len(a[m]) != len(b[m]):
                raise SystemExit(f"error: seed {seed}, {m}: {len(a[m])} items against {len(b[m])}.")
            ci = paired_bootstrap_ci(a[m], b[m])
            out.setdefault(m, {"seeds": {}})["seeds"][seed] = {"diff": ci.mean, "ci": [ci.low, ci.high]}
    for s in out.values():
        s["diff_median"] = float(np.median([row["diff"] for row in s["seeds"].values()]))
    return out


def compare_markdown(other: str, comparison: dict) -> str:
    lines = [f"Against `{other}` (this after - that after, same items) [95% CI]:", ""]
    lines += ["| metric | per seed | median |", "|---|---|---|"]
    for m, s in comparison.items():
        seeds = "; ".join(
            f"{seed}: {row['diff']:+.3f} [{row['ci'][0]:+.3f}, {row['ci'][1]:+.3f}]"
            for seed, row in s["seeds"].items()
        )
        lines.append(f"| {m} | {seeds} | {s['diff_median']:+.3f} |")
    return "\n".join(lines) + "\n"


def markdown(task: str, summary: dict) -> str:
    lines = [
        f"`{task}`: per-item after - before on the held-out items, 95% paired bootstrap interval.",
        "",
        "| metric | seed | before | after | after - before [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for m, s in summary.items():
        for seed, row in s["seeds"].items():
            before = "-" if row["before"] is None else f"{row['before']:.3f}"
            lines.append(
                f"| {m} | {seed} | {before} | {row['after']:.3f} | "
                f"{row['diff']:+.3f} [{row['ci'][0]:+.3f}, {row['ci'][1]:+.3f}] |"
            )
    lines += [
        "",
        "| metric | after: median [range] | after - before: median [range] | seeds with CI > 0 |",
        "|---|---|---|---|",
    ]
    for m, s in summary.items():
        lines.append(
            f"| {m} | {s['after_median']:.3f} [{s['after_range'][0]:.3f}, {s['after_range'][1]:.3f}] | "
            f"{s['diff_median']:+.3f} [{s['diff_range'][0]:+.3f}, {s['diff_range'][1]:+.3f}] | "
            f"{s['seeds_ci_above_0']}/{len(s['seeds'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--against", help="Another configuration's output_dir with the same seeds, finished.")
    a = parser.parse_args(argv)
    if not (ROOT / "recipes" / f"ppo_{a.task}.py").is_file():
        parser.error(f"--task {a.task}: there is no recipes/ppo_{a.task}.py.")
    out = Path(a.output_dir)
    other = Path(a.against) if a.against else None
    missing = [s for s in a.seeds if other and not (other / f"seed_{s}" / "eval.json").is_file()]
    if missing:  # before any run starts
        parser.error(f"--against {other}: seeds {missing} have no finished run there.")
    runs = {seed: run_seed(a.task, seed, out / f"seed_{seed}", flags) for seed in a.seeds}
    summary = summarise(runs)
    table = markdown(a.task, summary)
    if other:
        folders = {s: out / f"seed_{s}" for s in a.seeds}
        comparison = compare(folders, {s: other / f"seed_{s}" for s in a.seeds})
        summary = {**summary, "against": {"output_dir": str(other), "metrics": comparison}}
        table += "\n" + compare_markdown(str(other), comparison)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeds.json").write_text(json.dumps(summary, indent=2))
    (out / "seeds.md").write_text(table)
    print(table)
    return summary


if __name__ == "__main__":
    main()
