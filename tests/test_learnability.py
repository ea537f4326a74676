"""benchmarks/learnability.py: the aggregation on hand-made sample matrices, and the probe on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from test_benchmarks import load_benchmark

learn = load_benchmark("learnability")
stats = learn.stats


def test_summary_of_pass_fail_samples_by_hand():
    # 3 items x 4 samples: item 0 passes 2 of 4, item 1 never, item 2 always.
    samples = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    out = learn.summarize_samples(samples, learn.PASS_FAIL, best_of=(1, 4, 16))
    assert out["mean"] == pytest.approx((0.5 + 0 + 1) / 3)
    # pass@1 is the pass rate; pass@4 of 4 samples is "any passed"; 16 > k is not estimated.
    assert out["best_of"] == pytest.approx({"1": 0.5, "4": 2 / 3})
    assert out["solved_share"] == pytest.approx(2 / 3)
    # Headroom per item: best-of-4 - mean = 0.5, 0, 0: mean 1/6.
    assert out["headroom"]["mean"] == pytest.approx(1 / 6)
    assert out["headroom"]["low"] >= 0.0


def test_summary_of_continuous_samples_by_hand():
    samples = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]])
    out = learn.summarize_samples(samples, learn.CONTINUOUS, best_of=(1, 2, 4))
    # Item 0: E[max of 2 of {0,1,2,3}] = (1 + 2 + 3 + 2 + 3 + 3) / 6 = 14/6; item 1: 1.
    assert out["best_of"]["1"] == pytest.approx(out["mean"]) == pytest.approx(1.25)
    assert out["best_of"]["2"] == pytest.approx((14 / 6 + 1) / 2)
    assert out["best_of"]["4"] == pytest.approx((3 + 1) / 2)
    assert "solved_share" not in out
    # A constant item has no headroom; item 0 has 3 - 1.5: the mean over items is 0.75.
    assert out["headroom"]["mean"] == pytest.approx(0.75)


def test_markdown_names_pass_at_k_and_the_interval():
    samples = np.array([[1, 0, 0, 0], [0, 0, 0, 0]])
    summary = {"kind": learn.PASS_FAIL, **learn.summarize_samples(samples, learn.PASS_FAIL)}
    record = {
        "task": "codegen",
        "settings": {
            "model": "m",
            "flags": [],
            "k": 4,
            "max_new_tokens": 8,
            "use_chat_template": True,
        },
        "splits": {"eval": {"items": 2, "greedy": {"pass": 0.5}, "temperatures": {"0.7": {"pass": summary}}}},
    }
    table = learn.markdown(record)
    [row] = [line for line in table.splitlines() if line.startswith("| eval")]
    assert row.split(" | ")[:7] == ["| eval", "2", "pass (pass@j)", "0.500", "0.7", "0.125", "0.125"]
    assert "best-of-16" not in table  # k = 4
    assert row.split(" | ")[7] == "0.500"  # pass@4: one item of two solved


def test_probe_on_a_tiny_model(tiny_chat_model, tmp_path):
    """Translation through the recipe's YAML on a tiny chat policy (random characters still score some
    chrF): shapes, best-of-1 equals the mean, best-of-j grows with j, best-of-k is the mean of the
    items' maxima, and the greedy per-item mean is not the corpus chrF (a different statistic)."""
    flags = ["--language", "fr", "--max_new_tokens", "8", "--max_prompt_length", "4000"]
    # The YAML's 3-shot plain prompt ends in "French:", after which the random policy's greedy token is
    # the line break (its stop string) on every item; the chat prompt keeps the greedy texts apart.
    flags += ["--model_name_or_path", str(tiny_chat_model), "--fewshot", "0", "--use_chat_template", "true"]
    record = learn.main(
        ["--task", "translation", "--k", "4", "--temperatures", "1.0", "--limit", "3"]
        + ["--output_dir", str(tmp_path), "--eval_batch_size", "4", "--plot", str(tmp_path / "plot.png")]
        + ["--", *flags]
    )
    saved = json.loads((tmp_path / "translation_fr.json").read_text())
    assert saved == json.loads(json.dumps(record))
    yaml_values = yaml.safe_load((learn.ROOT / "recipes" / "configs" / "ppo_translation.yaml").read_text())
    assert saved["settings"]["max_new_tokens"] == 8  # the flag's
    assert saved["settings"]["eval_size"] == yaml_values["eval_size"]  # the YAML's
    assert set(saved["splits"]) == {"train", "eval"}
    for split in ("train", "eval"):
        out = saved["splits"][split]
        assert out["items"] == 3 and set(out["greedy"]) == {"chrf"}
        assert {"eval/chrf", "eval/bleu"} <= set(out["task_metrics"])
        v = out["temperatures"]["1.0"]["chrf"]
        matrix = np.array(out["samples"]["1.0"]["chrf"])
        assert matrix.shape == (3, 4) and matrix.max() > 0  # the metric varies, so the checks bite
        assert v["best_of"]["1"] == pytest.approx(v["mean"]) == pytest.approx(matrix.mean(), abs=1e-3)
        assert v["best_of"]["1"] < v["best_of"]["4"]
        assert v["best_of"]["4"] == pytest.approx(matrix.max(axis=1).mean(), abs=1e-3)  # best of all 4
        assert v["headroom"]["mean"] == pytest.approx(v["best_of"]["4"] - v["mean"], abs=1e-3)
    assert record["splits"]["train"]["greedy_examples"] != record["splits"]["eval"]["greedy_examples"]
    assert (tmp_path / "translation_fr.md").read_text().count("| train") == 1
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_repeated_items_are_independent_samples_and_reproducible(tiny_chat_model):
    """The probe's k samples: the items repeated k times in one evaluation. Each row has its own seed, so
    the copies differ, the first copy is what an evaluation of the items alone gives (batching does not
    change a sample), and the same call gives the same samples again."""
    from datasets import concatenate_datasets

    from rlreward.cli.reward_specs import build_reward
    from rlreward.models import load_causal_lm
    from rlreward.tasks import get_task
    from rlreward.trainers import PPOTrainer

    args, config, options = learn.recipe_config(
        "qa",
        [
            "--max_new_tokens",
            "6",
            "--max_prompt_length",
            "4000",
            "--model_name_or_path",
            str(tiny_chat_model),
        ],
    )
    task = get_task("qa")
    data = task.load_data(args, options)
    model, tokenizer = load_causal_lm(args.model_name_or_path)
    rewards, weights, _ = build_reward(args, tokenizer, task)
    train = data["train"].select(range(4))
    trainer = PPOTrainer(model, rewards, train, config, tokenizer=tokenizer, reward_weights=weights)
    items = data["eval"].select(range(4))
    repeated = concatenate_datasets([items] * 2)
    both = [r["completion"] for r in trainer.evaluate(repeated, temperature=1.0, seed=0).rows]
    again = [r["completion"] for r in trainer.evaluate(repeated, temperature=1.0, seed=0).rows]
    alone = [r["completion"] for r in trainer.evaluate(items, temperature=1.0, seed=0).rows]
    assert both == again and both[:4] == alone and both[:4] != both[4:]
