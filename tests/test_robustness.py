"""benchmarks/robustness.py: settings, the degradation analysis on hand-made runs, and a smoke run of two
settings x two variants on a tiny model through dense_vs_sparse and the runner."""

from __future__ import annotations

import json

import pytest
from test_benchmarks import load_benchmark
from test_dense_vs_sparse import tiny_sentiment_policy  # noqa: F401  (fixture)

rob = load_benchmark("robustness")


def test_settings_parse_to_recipe_flags_and_bad_ones_say_the_fix():
    assert rob.setting_flags("clean", "sign", 24) == []
    assert rob.setting_flags("sigma=0.3", "sign", 24) == ["--reward_noise", "0.3"]
    assert rob.setting_flags("flip=0.1", "label", 24) == [
        "--reward_flip",
        "0.1",
        "--reward_flip_mode",
        "label",
    ]
    assert rob.setting_flags("typos_eval=0.2", "sign", 24) == [
        "--prompt_noise", "0.2", "--eval_prompt_noise", "0.2",
    ]  # fmt: skip
    assert rob.setting_flags("long=4", "sign", 24) == [
        "--prompt_length_factor",
        "4",
        "--max_new_tokens",
        "48",
    ]
    for bad, message in [("noise=1", "use clean"), ("sigma", "use clean"), ("sigma=x", "not a number"),
                         ("long=1.5", "whole number"), ("clean=1", "use clean")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            rob.parse_setting(bad)


def record(after: dict[str, dict[int, list[float]]]) -> dict:
    """A dense_vs_sparse record with per-item metric ``m`` after training, per variant and seed."""
    import numpy as np

    per_run = {
        v: {s: {"after": float(np.mean(x))} for s, x in by_seed.items()} for v, by_seed in after.items()
    }
    summary = {
        v: {
            "after": (float(np.median([np.mean(x) for x in by_seed.values()])), 0.0, 1.0),
            "change": (0.0, 0.0, 0.0),
            "median_seed_change": {"mean": 0.0, "low": 0.0, "high": 0.0},
        }
        for v, by_seed in after.items()
    }
    summary["instant"]["versus_terminal_median_seed"] = {"mean": 0.0, "low": 0.0, "high": 0.0}
    summary["instant"]["versus_terminal_median"] = (0.0, 0.0, 0.0)
    runs = {v: {s: {"after": {"m": x}} for s, x in by_seed.items()} for v, by_seed in after.items()}
    return {
        "analysis": {"metric": "m", "seeds": [0, 1], "per_run": per_run, "summary": summary},
        "runs": runs,
    }


def test_degradation_and_interaction_on_hand_made_runs():
    clean = record({"terminal": {0: [0.8, 0.6], 1: [0.6, 0.6]}, "instant": {0: [0.8, 0.8], 1: [0.7, 0.5]}})
    # sigma: terminal drops 0.4 on every item; instant drops 0.1 on every item.
    noisy = record({"terminal": {0: [0.4, 0.2], 1: [0.2, 0.2]}, "instant": {0: [0.7, 0.7], 1: [0.6, 0.4]}})
    # typos_eval is evaluated on other prompts: no degradation against clean.
    other = record({"terminal": {0: [0.0, 0.0], 1: [0.0, 0.0]}, "instant": {0: [0.0, 0.0], 1: [0.0, 0.0]}})
    analysis = rob.analyse({"clean": clean, "sigma=0.5": noisy, "typos_eval=0.1": other})
    sigma = analysis["settings"]["sigma=0.5"]
    assert sigma["terminal"]["degradation"][0]["mean"] == pytest.approx(-0.4)
    assert sigma["terminal"]["degradation"][0]["low"] == pytest.approx(-0.4)  # a constant drop
    assert sigma["instant"]["degradation_median"][0] == pytest.approx(-0.1)
    assert sigma["interaction"]["mean"] == pytest.approx(0.3)  # instant degrades 0.3 less
    assert "degradation" not in analysis["settings"]["typos_eval=0.1"]["terminal"]
    assert "interaction" not in analysis["settings"]["clean"]
    table = rob.markdown("toy", analysis, {"trainer": "ppo", "steps": 2, "batch_size": 4, "items": 2})
    assert "+0.300 [+0.300, +0.300]" in table and table.count("\n| ") == 4  # header + 3 settings


def test_smoke_clean_and_reward_noise(tiny_sentiment_policy, tmp_path, capsys):  # noqa: F811
    flags = [
        "--batch_size",
        "4",
        "--mini_batch_size",
        "4",
        "--micro_batch_size",
        "4",
        "--max_new_tokens",
        "6",
    ]
    flags += [
        "--eval_size",
        "4",
        "--learning_rate",
        "0.05",
        "--model_name_or_path",
        str(tiny_sentiment_policy),
    ]
    argv = ["--task", "sentiment", "--seeds", "0", "--steps", "2", "--eval_every", "1"]
    argv += ["--settings", "clean", "sigma=0.5", "--output_dir", str(tmp_path), "--", *flags]
    result = rob.main(argv)
    assert capsys.readouterr().err.count("done: sentiment") == 4
    run = json.loads((tmp_path / "sigma=0.5" / "sentiment" / "instant_seed0" / "run.json").read_text())
    assert run["args"]["reward_noise"] == 0.5
    clean = json.loads((tmp_path / "clean" / "sentiment" / "instant_seed0" / "run.json").read_text())
    assert clean["args"]["reward_noise"] == 0.0
    sigma = result["analysis"]["settings"]["sigma=0.5"]
    assert set(sigma["instant"]["degradation"]) == {0} and "interaction" in sigma
    out = tmp_path / "sentiment"
    assert (out / "robustness_sentiment.png").stat().st_size > 0
    assert "| sigma=0.5 |" in (out / "robustness.md").read_text()
    rob.main(argv)  # finished runs are reused
    assert "done:" not in capsys.readouterr().err
