"""benchmarks/dense_vs_sparse.py: the sequence-only variant, the analysis on hand-made runs, and a smoke
run of two variants x two seeds on a tiny model through the runner (one subprocess per run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import PRINTABLE, char_tokenizer, tiny_llama
from test_benchmarks import SENTIMENT_WORDS, load_benchmark

dvs = load_benchmark("dense_vs_sparse")


def test_sequence_only_keeps_the_scores_and_drops_the_token_credit():
    from rlreward.rewards.lexicon import SentimentLexiconReward

    tokenizer = char_tokenizer(PRINTABLE)
    instant = SentimentLexiconReward(tokenizer=tokenizer)
    sequence = dvs.SequenceOnly(SentimentLexiconReward(tokenizer=tokenizer))
    texts = ["a great good film", "awful"]
    ids = [tokenizer(t)["input_ids"] for t in texts]
    native, reduced = instant.score(["p", "p"], texts, ids), sequence.score(["p", "p"], texts, ids)
    assert native.tokens is not None and reduced.tokens is None and sequence.per_token is None
    assert reduced.sequence.tolist() == pytest.approx(native.sequence.tolist())
    assert native.sequence[0] > 0 > native.sequence[1]  # so the equality above is not 0 == 0


def test_variants_name_the_tasks_rewards():
    from rlreward.tasks import get_task

    assert dvs.variants("sentiment") == {
        "terminal": ["--reward", "vader@sequence", "--densify", "terminal"],
        "instant": ["--reward", "vader"],
    }
    qa = dvs.variants("qa")  # the default weights travel with the rewards
    assert qa["terminal"] == [
        "--reward", "token_f1@sequence", "--reward", "length@sequence",
        "--reward_weights", "1.0", "1.0", "--densify", "terminal",
    ]  # fmt: skip
    assert "prefix_delta" in dvs.variants("codegen")
    task = dvs.with_sequence_rewards(get_task("translation"))
    assert set(task.rewards) >= {"chrf", "chrf@sequence", "bleu@sequence"}


def fake_run(before, after, curve, train, samples=128):
    return {
        "before": {"m": before},
        "after": {"m": after},
        "after_metrics": {"eval/kl": 1.0, "eval/ref_perplexity": 2.0, "eval/mean_length": 5.0},
        "heldout_curve": [{"samples": x, "m": y} for x, y in curve],
        "train_curve": [{"samples": 16 * (i + 1), "reward": r} for i, r in enumerate(train)],
        "samples": samples,
    }


def test_analysis_on_hand_made_runs():
    # Two items. Terminal ends at 0.4 on the held-out curve; instant passes 0.4 between 32 (0.2) and 64
    # (0.6) samples: at 48 by the straight line, 0.375x terminal's 128. Training batches (8 steps, trailing
    # mean of 2): terminal's last is (0.2 + 0.4) / 2 = 0.3; instant's 0, 0.2, 0.3: reached at 48 samples.
    before = [0.0, 0.0]
    xs = [0, 32, 64, 96, 128]
    terminal_train = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.4]
    instant_train = [0.0, 0.4, 0.2, 0.4, 0.4, 0.4, 0.4, 0.4]
    runs = {
        "terminal": {
            0: fake_run(before, [0.3, 0.5], zip(xs, [0.0, 0.1, 0.2, 0.3, 0.4]), terminal_train),
            1: fake_run(before, [0.1, 0.1], zip(xs, [0.0, 0.0, 0.0, 0.0, 0.1]), terminal_train),
        },
        "instant": {
            0: fake_run(before, [0.6, 0.8], zip(xs, [0.0, 0.2, 0.6, 0.7, 0.7]), instant_train),
            1: fake_run(before, [0.0, 0.0], zip(xs, [0.0, 0.0, 0.0, 0.0, 0.0]), instant_train),
        },
    }
    analysis = dvs.analyse("toy", runs, "m")
    terminal, instant = analysis["summary"]["terminal"], analysis["summary"]["instant"]
    assert terminal["change"] == pytest.approx((0.25, 0.1, 0.4))  # median, min, max over the two seeds
    assert analysis["per_run"]["terminal"][1]["change"]["low"] == pytest.approx(0.1)  # a constant change
    assert instant["heldout_samples_ratio"][0] == pytest.approx(0.375)
    assert instant["heldout_samples_ratio"][1] is None  # never reaches terminal's 0.1
    assert instant["train_samples_ratio"][0] == pytest.approx(48 / 128)
    # instant - terminal after training, paired per item: seed 0 +0.3, seed 1 -0.1; the lower median is seed 1.
    assert instant["versus_terminal"][0]["mean"] == pytest.approx(0.3)
    assert instant["versus_terminal_median_seed"]["mean"] == pytest.approx(-0.1)
    settings = {
        "trainer": "ppo",
        "steps": 8,
        "batch_size": 16,
        "items": 2,
        "eval_temperature": 1.0,
        "flags": [],
    }
    table = dvs.markdown("toy", analysis, settings)
    assert "never (0.38x-never; seeds: 0.38x, never)" in table  # the median of 0.375 and never


@pytest.fixture(scope="module")
def tiny_sentiment_policy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_sentiment_policy")
    tokenizer = char_tokenizer(PRINTABLE + SENTIMENT_WORDS)
    tiny_llama(len(tokenizer), max_positions=512).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_smoke_two_variants_two_seeds(tiny_sentiment_policy, tmp_path, capsys):
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
    argv = ["--task", "sentiment", "--seeds", "0", "1", "--steps", "2", "--eval_every", "1"]
    argv += ["--output_dir", str(tmp_path), "--", *flags]
    record = dvs.main(argv)
    out = tmp_path / "sentiment"
    assert capsys.readouterr().err.count("done: sentiment") == 4
    # The base is evaluated once, by the first run; the others skip it.
    assert (out / "terminal_seed0" / "samples_before.jsonl").exists()
    assert not (out / "instant_seed1" / "samples_before.jsonl").exists()
    for variant in ("terminal", "instant"):
        for seed in (0, 1):
            run = record["runs"][variant][seed]
            # before (shared), after step 1 (the callback), after step 2 (the runner's final evaluation)
            assert [p["samples"] for p in run["heldout_curve"]] == [0, 4, 8]
            assert [p["samples"] for p in run["train_curve"]] == [4, 8]
            assert len(run["after"]["vader"]) == 4
            rewards = json.loads((out / f"{variant}_seed{seed}" / "run.json").read_text())["reward_specs"]
            assert rewards == (["vader@sequence"] if variant == "terminal" else ["vader"])
    # Terminal and instant rewards give every sample the same score: the training-batch rewards of the
    # first step (same seed, untrained policy, same samples) agree.
    for seed in (0, 1):
        assert record["runs"]["terminal"][seed]["train_curve"][0]["reward"] == pytest.approx(
            record["runs"]["instant"][seed]["train_curve"][0]["reward"], abs=1e-6
        )
    table = (out / "table.md").read_text()
    assert table.count("| terminal |") == 3 and table.count("| instant |") == 3  # summary + 2 seeds
    assert (out / "dense_vs_sparse_sentiment.png").stat().st_size > 0
    # A second call reuses the finished runs.
    dvs.main(argv)
    assert "done:" not in capsys.readouterr().err


def test_dialogue_variants_keep_the_reward_model_and_choose_its_credit():
    variants = dvs.variants("dialogue", reward_model="my_rm")
    assert variants["terminal"] == [
        "--reward", "my_rm", "--reward", "repetition@sequence", "--reward", "length@sequence",
        "--densify", "terminal", "--model_credit", "none",
    ]  # fmt: skip
    assert variants["instant"][-2:] == ["--model_credit", "prefix_delta"]
    assert variants["attention"][-2:] == ["--model_credit", "attention"]
    assert "--model_credit" not in dvs.variants("sentiment")["instant"]  # no reward model, no flag


def test_model_credit_sets_the_reward_models_per_token_credit(tiny_reward_model):
    from rlreward.tasks import get_task

    factory = get_task("dialogue").classifier
    tokenizer = char_tokenizer(PRINTABLE)
    prompts, texts = [[{"role": "user", "content": "hi"}]], ["hello there"]
    ids = [tokenizer(texts[0], add_special_tokens=False)["input_ids"]]
    outputs = {}
    for credit in ("none", "prefix_delta", "attention"):
        reward = dvs.with_model_credit(factory, credit)(str(tiny_reward_model), tokenizer, 0)
        assert reward.name == "reward_model"  # the dialogue metrics find it by name
        outputs[credit] = reward.score(prompts, texts, ids)
    assert outputs["none"].tokens is None
    for credit in ("prefix_delta", "attention"):  # the same sequence score, spread differently
        tokens = outputs[credit].tokens[0][: len(ids[0])]
        assert float(tokens.sum()) == pytest.approx(float(outputs["none"].sequence[0]), abs=1e-4)
    assert not torch.allclose(outputs["prefix_delta"].tokens, outputs["attention"].tokens)


def test_smoke_dialogue_with_a_reward_model_folder(tiny_chat_model, tiny_reward_model, tmp_path):
    flags = ["--batch_size", "4", "--mini_batch_size", "4", "--micro_batch_size", "4"]
    flags += ["--max_new_tokens", "6", "--eval_size", "4", "--model_name_or_path", str(tiny_chat_model)]
    flags += ["--max_prompt_length", "4000"]  # one token per character: long prompts
    argv = ["--task", "dialogue", "--seeds", "0", "--steps", "2", "--eval_every", "1"]
    argv += ["--reward_model", str(tiny_reward_model), "--output_dir", str(tmp_path), "--", *flags]
    record = dvs.main(argv)
    runs = record["runs"]
    assert set(runs) == {"terminal", "instant", "attention"}
    for by_seed in runs.values():
        run = by_seed[0]
        assert [p["samples"] for p in run["heldout_curve"]] == [0, 4, 8]
        assert len(run["after"]["reward_model"]) == 4  # read from the run's eval.json
    # every variant scores the first batch alike (same seed, same samples): only the credit differs
    first = [runs[v][0]["train_curve"][0]["reward"] for v in runs]
    assert first == pytest.approx([first[0]] * 3, abs=1e-5)
    assert "| attention |" in (tmp_path / "dialogue" / "table.md").read_text()
    logged = json.loads(
        (tmp_path / "dialogue" / "terminal_seed0" / "metrics.jsonl").read_text().splitlines()[0]
    )
    assert {"rewards/reward_model", "rewards/repetition@sequence", "rewards/length_penalty@sequence"} <= set(
        logged
    )
