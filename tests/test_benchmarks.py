"""Benchmarks: ``benchmarks/rl_vs_sft.py``'s per-method runs on a tiny model, its headline arithmetic on
hand-made curves, and (slow) the whole ``--quick`` run on the default model."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PRINTABLE, char_tokenizer, tiny_llama
from datasets import Dataset, DatasetDict

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` as a module (benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their string annotations through it
    spec.loader.exec_module(module)
    return module


bench = load_benchmark("rl_vs_sft")


def fake_run(method: str, xs: list[int], rewards: list[float], kls: list[float], key: str) -> dict:
    """A run record whose ``key`` curve has the points ``(xs, rewards, kls)`` and whose final held-out
    metrics are the last point."""
    curve = [{"samples": x, "reward": r, "kl": k} for x, r, k in zip(xs, rewards, kls)]
    return {
        "method": method,
        "seed": 0,
        "samples": xs[-1],
        "metrics": {"eval/reward": rewards[-1], "eval/kl": kls[-1]},
        "train_s": 1.0,
        "eval_s": 1.0,
        "peak_memory_mb": 1.0,
        "train_curve": [],
        "heldout_curve": [],
        key: curve,
    }


def test_curve_helpers_by_hand():
    assert bench.trailing_mean([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
    assert bench.samples_to_reach([16, 32, 48], [0.1, 0.3, 0.5], 0.3) == 32
    assert bench.samples_to_reach([16, 32], [0.1, 0.2], 0.3) is None
    assert bench.value_at([0.0, 2.0, 4.0], [0.0, 1.0, 3.0], 3.0) == 2.0
    assert bench.value_at([0.0, 2.0], [0.0, 1.0], 5.0) is None


def test_headline_on_hand_made_checkpoints():
    # Held-out checkpoints at 0, 32, 64, 96, 128 samples: terminal PPO ends at 0.4; instant PPO passes 0.4
    # at 64 samples, half the budget. SFT's checkpoint sits at KL 3.0, halfway between instant PPO's
    # checkpoints at KL 2.0 (reward 0.4) and 4.0 (reward 0.6): the matched-KL reward is 0.5. (SFT's
    # evaluation on all held-out prompts, KL 5.0, must not be the one matched: that would give 0.65.)
    xs = [0, 32, 64, 96, 128]
    runs = [
        fake_run("ppo_terminal", xs, [0.0, 0.1, 0.2, 0.3, 0.4], [0.0] * 5, "heldout_curve"),
        fake_run("ppo_instant", xs, [0.0, 0.2, 0.4, 0.6, 0.7], [0.0, 1.0, 2.0, 4.0, 6.0], "heldout_curve"),
        fake_run("sft_best_of_n", [128], [0.45], [3.0], "heldout_curve"),
    ]
    runs[2]["metrics"] = {"eval/reward": 0.5, "eval/kl": 5.0}
    summary = bench.summarize(runs)
    head = bench.headline(runs, summary, 128)
    [a] = head["a"]  # no training-batch curves here
    assert a["curve"] == "held-out checkpoints"
    assert a["terminal_final_reward"] == pytest.approx(0.4)
    assert a["instant_samples_to_reach"] == 64
    assert a["ratio_instant_over_terminal"] == pytest.approx(0.5)
    assert head["b"]["matched_on"] == "held-out checkpoints"
    assert head["b"]["sft_checkpoint_kl"] == 3.0
    assert head["b"]["ppo_instant_reward_at_sft_kl"] == pytest.approx(0.5)
    table = bench.markdown(summary, head, bench.Settings(steps=8, batch_size=16))
    assert "(0.50x the samples, 2.0x fewer)" in table
    assert "interpolated along its held-out checkpoints to that KL, scores 0.500" in table


def test_headline_on_hand_made_training_batches():
    # 8 steps of 16: the trailing mean spans 8 // 4 = 2 steps. Terminal PPO's smoothed final reward is
    # (0.2 + 0.4) / 2 = 0.3; instant PPO's smoothed curve 0, 0.2, 0.3, ... reaches it at step 3 = 48 samples.
    xs = [16 * (i + 1) for i in range(8)]
    terminal = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.4]
    instant = [0.0, 0.4, 0.2, 0.4, 0.4, 0.4, 0.4, 0.4]
    runs = [
        fake_run("ppo_terminal", xs, terminal, [0.0] * 8, "train_curve"),
        fake_run("ppo_instant", xs, instant, [0.0] * 8, "train_curve"),
    ]
    [a] = bench.headline(runs, bench.summarize(runs), 128)["a"]
    assert a["curve"] == "training batches, trailing mean of 2 steps"
    assert a["terminal_final_reward"] == pytest.approx(0.3)
    assert a["instant_samples_to_reach"] == 48
    assert a["ratio_instant_over_terminal"] == pytest.approx(0.375)


#: Whole-word tokens the tiny policy can sample (prompts are still encoded one character per token), so that
#: its random completions often carry VADER sentiment and the rewards vary.
SENTIMENT_WORDS = [" good", " great", " love", " happy", " bad", " awful", " hate", " boring"]


@pytest.fixture(scope="module")
def tiny_model_folder(tmp_path_factory) -> Path:
    """A random tiny Llama and a printable-character tokenizer (no chat template) with sentiment words."""
    folder = tmp_path_factory.mktemp("tiny_policy")
    tokenizer = char_tokenizer(PRINTABLE + SENTIMENT_WORDS)
    tiny_llama(len(tokenizer), max_positions=512).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_every_method_runs_one_step_and_is_scored(tiny_model_folder, tmp_path):
    from rlreward.data import load_sentiment_prompts

    prompts = load_sentiment_prompts()
    data = DatasetDict(
        train=Dataset.from_dict({"prompt": prompts["train"]["prompt"][:16]}),
        eval=Dataset.from_dict({"prompt": prompts["eval"]["prompt"][:4]}),
    )
    settings = bench.Settings(
        model=str(tiny_model_folder),
        steps=1,
        batch_size=8,
        max_new_tokens=4,
        sft_n=4,
        sft_epochs=1,
        learning_rate=0.05,
        sft_learning_rate=0.05,  # one step must move the policy measurably
        eval_size=4,
        eval_every=1,
        curve_eval_size=2,
        seeds=[0],
        output_dir=str(tmp_path),
    )
    runs = [bench.run_method(method, settings, 0, data=data) for method in bench.METHODS]
    for record in runs:
        json.dumps(record)  # what the child process writes
        metrics = record["metrics"]
        assert all(math.isfinite(v) for v in metrics.values()), record["method"]
        assert 0.0 <= metrics["eval/positive_share"] <= 1.0
        assert metrics["eval/mean_length"] <= 4
    by_method = {r["method"]: r for r in runs}
    assert by_method["base"]["metrics"]["eval/kl"] == 0.0 and by_method["base"]["samples"] == 0
    for method in ("sft_best_of_n", "ppo_terminal", "ppo_instant", "reinforce_instant", "trl_rloo"):
        record = by_method[method]
        assert record["samples"] == 8
        # The evaluation scored the trained adapter against the base model, not the base against itself
        # (float noise between the sampler's and the scoring pass's log-probs is ~1e-6).
        assert abs(record["metrics"]["eval/kl"]) > 1e-3, (method, record["metrics"]["eval/kl"])
    for method in ("ppo_terminal", "ppo_instant", "reinforce_instant", "trl_rloo"):
        assert [p["samples"] for p in by_method[method]["train_curve"]] == [8], method
        assert [p["samples"] for p in by_method[method]["heldout_curve"]] == [0, 8], method
    # Base and SFT take their one checkpoint from the final evaluation; sampling seeds go by prompt, so the
    # base's equals every RL method's checkpoint before training.
    assert [p["samples"] for p in by_method["sft_best_of_n"]["heldout_curve"]] == [8]
    [base_point] = by_method["base"]["heldout_curve"]
    assert base_point["samples"] == 0 and base_point["kl"] == 0.0
    for method in ("ppo_terminal", "ppo_instant", "reinforce_instant", "trl_rloo"):
        first = by_method[method]["heldout_curve"][0]
        assert first["reward"] == pytest.approx(base_point["reward"]), method
        assert first["kl"] == pytest.approx(0.0, abs=1e-4), method  # untrained: adapter B = 0
    sft = by_method["sft_best_of_n"]["metrics"]
    assert sft["sft/examples"] == 2  # 8 samples, best of 4
    assert sft["sft/best_of_n_reward"] >= sft["sft/sample_reward"]

    summary = bench.summarize(runs)
    head = bench.headline(runs, summary, settings.budget)
    assert [a["curve"] for a in head["a"]] == [
        "training batches, trailing mean of 1 steps",
        "held-out checkpoints",
    ]
    assert head["b"]["matched_on"] == "held-out checkpoints"
    table = bench.markdown(summary, head, settings)
    bench.plot(runs, summary, settings.budget, tmp_path / "reward_vs_samples.png")
    assert all(bench.LABELS[m] in table for m in bench.METHODS)
    assert (tmp_path / "reward_vs_samples.png").stat().st_size > 0


@pytest.mark.slow
def test_quick_run_writes_table_results_and_plot(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "rl_vs_sft.py"), "--quick", "--output_dir", str(tmp_path)],
        check=True,
        timeout=900,
    )
    for name in ("table.md", "results.json", "reward_vs_samples.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["headline"]["a"] and results["headline"]["b"]
    assert set(results["summary"]) == set(bench.METHODS)
    for method, metrics in results["summary"].items():
        for key in ("eval/reward", "eval/kl", "eval/ref_perplexity", "eval/distinct_2", "peak_memory_mb"):
            assert math.isfinite(metrics[key][0]), (method, key)


def test_task_mode_compares_a_recipe_with_sft_on_its_references(tiny_chat_model, tmp_path):
    """``--task qa`` on a tiny model: one PPO run and one SFT run of the recipe, the base from the PPO
    run's "before", one table; a second call reuses the finished runs."""
    tiny = ["--batch_size", "4", "--mini_batch_size", "4", "--micro_batch_size", "4", "--max_new_tokens", "4"]
    tiny += ["--eval_size", "2", "--max_prompt_length", "4000"]  # one token per character: long prompts
    command = [sys.executable, str(ROOT / "benchmarks" / "rl_vs_sft.py"), "--task", "qa", "--steps", "1"]
    command += ["--model", str(tiny_chat_model), "--output_dir", str(tmp_path), "--", *tiny]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stderr.count("done: qa") == 2
    table = (tmp_path / "qa" / "table.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "method" not in line]
    assert [r.split(" | ")[0] for r in rows] == [
        "| base model",
        "| SFT on reference outputs",
        "| PPO, instant reward",
    ]
    assert all(r.split(" | ")[1] == ("0" if "base" in r else "4") for r in rows)  # 1 step x 4 samples
    assert "exact_match" in table and "token_f1" in table
    again = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0 and "done:" not in again.stderr and again.stdout.strip() == table.strip()


# ---------------------------------------------------------------- trainer_throughput.py: floors


throughput = load_benchmark("trainer_throughput")


def test_phase_floors_by_hand():
    """N = 1e6 body and H = 1e5 head parameters in fp32, b = 4, p = 10, t = 5; BW = 1e9 B/s, R = 1e9 FLOP/s."""
    ceilings = {"gemm_pass_float32_gflops": 1.0, "bandwidth_gbs": 1.0}
    r = {"body_params": 1e6, "head_params": 1e5, "bytes_per_param": 4, "prompt_len": 10, "completion_len": 5}
    floors = throughput.phase_floors({**r, "passes": 1, "epochs": 2}, ceilings, batch=4)
    # prompt: 2 (N b p + H b) / R = 2 (4e7 + 4e5) / 1e9; per token: max(4e6/1e9, 8e6/1e9) + max(4e5/1e9, 8e5/1e9)
    assert floors["generate"] == pytest.approx(2 * (4e7 + 4e5) / 1e9 + 5 * (8e6 + 8e5) / 1e9)
    one_pass = 2 * (1e6 * 4 * 15 + 1e5 * 4 * 5) / 1e9
    assert floors["logprob"] == pytest.approx(one_pass)
    assert floors["update"] == pytest.approx(3 * one_pass * 2)
    assert floors["reward"] == 0.0
    # A bandwidth-bound decode: one row, so reading the weights (4 bytes each) costs more than the FLOPs.
    one_row = throughput.phase_floors({**r, "passes": 2, "epochs": 1}, ceilings, batch=1)
    assert one_row["generate"] == pytest.approx(2 * (1e7 + 1e5) / 1e9 + 5 * (4e6 + 4e5) / 1e9)
    assert one_row["logprob"] == pytest.approx(2 * 2 * (1e6 * 15 + 1e5 * 5) / 1e9)


def test_model_shape_counts_a_tied_head_once(tokenizer):
    model = tiny_llama(len(tokenizer))
    shape = throughput.model_shape(model)
    embed = model.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in model.parameters())
    assert shape["head_params"] == embed  # untied here: the head is its own matrix of the same size
    assert shape["body_params"] == total - 2 * embed
    model.lm_head.weight = model.get_input_embeddings().weight  # tie
    tied = throughput.model_shape(model)
    assert tied["body_params"] == sum(p.numel() for p in model.parameters()) - embed
    assert tied["bytes_per_param"] == 4
