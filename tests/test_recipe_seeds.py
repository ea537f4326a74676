"""benchmarks/recipe_seeds.py: the over-seed summary of recipes' eval.json files (hand-made runs)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load():
    spec = importlib.util.spec_from_file_location("recipe_seeds", ROOT / "benchmarks" / "recipe_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(before: float, after: float, low: float, high: float) -> dict:
    return {
        "before": {"eval/f1": before},
        "after": {"eval/f1": after},
        "paired": {"eval/f1": {"items": 10, "diff": after - before, "ci_low": low, "ci_high": high}},
    }


def test_median_range_and_the_median_seeds_interval(tmp_path):
    bench = load()
    runs = {0: run(0.2, 0.5, 0.2, 0.4), 1: run(0.2, 0.3, -0.05, 0.25), 2: run(0.2, 0.4, 0.1, 0.3)}
    s = bench.summarise(runs)["eval/f1"]
    assert s["median_seed"] == 2 and s["median_seed_ci_excludes_0"]
    assert abs(s["diff_median"] - 0.2) < 1e-12 and s["after_range"] == [0.3, 0.5]
    assert s["seeds_ci_above_0"] == 2
    table = bench.markdown("qa", bench.summarise(runs))
    assert "| eval/f1 | 1 | 0.200 | 0.300 | +0.100 [-0.050, +0.250] |" in table
    assert "| eval/f1 | 0.400 [0.300, 0.500] | +0.200 [+0.100, +0.300] | 2/3 |" in table


def test_finished_runs_are_reused_not_rerun(tmp_path):
    bench = load()
    for seed in (0, 1):
        folder = tmp_path / f"seed_{seed}"
        folder.mkdir()
        (folder / "eval.json").write_text(json.dumps(run(0.1, 0.2 + seed / 10, 0.05, 0.3)))
    summary = bench.main(["--task", "qa", "--seeds", "0", "1", "--output_dir", str(tmp_path)])
    assert summary["eval/f1"]["seeds"].keys() == {0, 1}
    assert (tmp_path / "seeds.md").read_text().startswith("`qa`")


def test_against_pairs_two_configurations_on_the_same_items(tmp_path):
    from rlreward.stats import paired_bootstrap_ci

    bench = load()
    mine, theirs = [1.0, 1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    for folder, after in ((tmp_path / "a", mine), (tmp_path / "b", theirs)):
        (folder / "seed_0").mkdir(parents=True)
        record = run(0.1, sum(after) / len(after), 0.0, 0.5) | {
            "items": {"before": None, "after": {"eval/f1": after}}
        }
        (folder / "seed_0" / "eval.json").write_text(json.dumps(record))
    argv = [
        "--task",
        "qa",
        "--seeds",
        "0",
        "--output_dir",
        str(tmp_path / "a"),
        "--against",
        str(tmp_path / "b"),
    ]
    row = bench.main(argv)["against"]["metrics"]["eval/f1"]["seeds"][0]
    expected = paired_bootstrap_ci(mine, theirs)
    assert row["diff"] == pytest.approx(1 / 3) and row["ci"] == [expected.low, expected.high]
    assert "0: +0.333 [" in (tmp_path / "a" / "seeds.md").read_text()
    (tmp_path / "b" / "seed_0" / "eval.json").unlink()
    with pytest.raises(SystemExit):  # before any run starts
        bench.main(argv)
    (tmp_path / "b" / "seed_0" / "eval.json").write_text(json.dumps(run(0.1, 0.2, 0.0, 0.5)))
    with pytest.raises(SystemExit, match="no per-item values"):
        bench.main(argv)
