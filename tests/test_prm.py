"""A trained process reward model: recipes/train_prm.py on step-labelled data, and ProcessReward's
per-token credit from its step probabilities (tiny BERT classifiers built here)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast, TrainerState

from rlreward.rewards.base import evaluate_reward
from rlreward.rewards.classifier import ClassifierReward
from rlreward.rewards.process import CheckerSteps, ProcessReward, line_steps, step_prefixes
from rlreward.tasks.arithmetic import ArithmeticChecker
from rlreward.trainers.pointwise import load_scorer

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "train_prm.py"
PROMPTS = ["add four and five", "add two and two", "add one and six"]
RIGHT = ["four plus five is nine", "two plus two is four", "one plus six is seven"]
WRONG = ["four plus five is twelve", "two plus two is zero", "one plus six is eleven"]


def load_recipe():
    spec = importlib.util.spec_from_file_location("train_prm", RECIPE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tiny_prm(folder: Path) -> Path:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        PROMPTS + RIGHT + WRONG, trainers.WordPieceTrainer(vocab_size=120, special_tokens=specials)
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[(s, tok.token_to_id(s)) for s in specials]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=1,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_solutions(path: Path, copies: int = 8) -> Path:
    """Two-step solutions: a right first step, then a right or a wrong second one (first-error labels)."""
    with open(path, "w") as f:
        for _ in range(copies):
            for i, prompt in enumerate(PROMPTS):
                j = (i + 1) % len(PROMPTS)
                f.write(
                    json.dumps({"prompt": prompt, "completions": [RIGHT[i], RIGHT[j]], "labels": [1, 1]})
                    + "\n"
                )
                f.write(
                    json.dumps({"prompt": prompt, "completions": [RIGHT[i], WRONG[j]], "labels": [1, 0]})
                    + "\n"
                )
                f.write(
                    json.dumps({"prompt": prompt, "completions": [WRONG[i], WRONG[j]], "labels": [0, 0.0]})
                    + "\n"
                )
    return path


def tiny_training(base: Path, data: Path, out: Path) -> list[str]:
    """``train_prm.py`` flags for the tiny BERT on ``data``: full fine-tuning, 12 held-out solutions."""
    return [
        "--model_name_or_path", str(base), "--use_peft", "false", "--dataset", str(data), "--eval_size", "12",
        "--per_device_train_batch_size", "8", "--learning_rate", "3e-3", "--output_dir", str(out),
        "--disable_tqdm", "true",
    ]  # fmt: skip


def test_train_prm_learns_step_labels_and_reports_auroc(tmp_path):
    recipe = load_recipe()
    base = tiny_prm(tmp_path / "base")
    data = write_solutions(tmp_path / "steps.jsonl")
    out = tmp_path / "prm"
    report = recipe.main([*tiny_training(base, data, out), "--max_steps", "60", "--warmup_steps", "0"])
    assert json.loads((out / "eval.json").read_text()) == report
    assert report["train_solutions"] == 60 and report["eval_solutions"] == 12
    assert report["train_steps"] == 120  # two steps per solution
    # Held-out solutions repeat training ones: a PRM that learnt the labels separates them fully.
    assert report["after"]["eval/step_auroc"] == 1.0 > report["before"]["eval/step_auroc"]
    assert report["after"]["eval/first_error_accuracy"] == report["after"]["eval/step_accuracy"] == 1.0
    with pytest.raises(ValueError, match="already holds a trained PRM"):
        recipe.main(["--model_name_or_path", str(base), "--dataset", str(data), "--output_dir", str(out)])


def test_first_error_and_step_rows_follow_the_stepwise_format():
    recipe = load_recipe()
    assert recipe.first_error([0.9, 0.8]) is None
    assert recipe.first_error([0.9, 0.2, 0.9]) == 1
    import datasets

    rows = datasets.Dataset.from_list([{"prompt": "p", "completions": ["a", "b"], "labels": [1.0, 0.4]}])
    assert recipe.step_rows(rows) == (["p", "p"], ["a", "a\nb"], [1.0, 0.4])  # soft labels kept


def test_process_reward_gives_each_step_its_prm_probability_at_the_line_end(tmp_path):
    folder = tiny_prm(tmp_path / "prm")
    prm = ClassifierReward(str(folder), include_prompt=True, per_token=None)
    reward = ProcessReward(prm, decode=lambda ids: "".join(map(chr, ids)))
    text = f"{RIGHT[0]}\n\n{WRONG[1]}\n"
    spans = line_steps(text)
    assert [text[s:e] for s, e in spans] == [RIGHT[0], WRONG[1]]
    prefixes = step_prefixes(text, spans)
    assert prefixes == [RIGHT[0], f"{RIGHT[0]}\n{WRONG[1]}"]
    logits = prm(prompts=[PROMPTS[0]] * 2, completions=prefixes)
    expected = [(2 / (1 + math.exp(-z)) - 1) / 2 for z in logits]
    ids = [ord(c) for c in text]
    scored = evaluate_reward(reward, [PROMPTS[0]], [text], [ids])
    row = scored.tokens[0]
    assert row[spans[0][1] - 1].item() == pytest.approx(expected[0], abs=1e-5)  # the last char of line 1
    assert row[spans[1][1] - 1].item() == pytest.approx(expected[1], abs=1e-5)
    assert int((row != 0).sum()) == 2
    assert scored.sequence[0].item() == pytest.approx(sum(expected), abs=1e-5)
    empty = evaluate_reward(reward, [PROMPTS[0]], ["  \n"], [[32, 32, 10]])
    assert empty.sequence.tolist() == [0.0] and not empty.tokens.any()


def test_checker_steps_segment_the_arithmetic_step_lines_only():
    segment = CheckerSteps(ArithmeticChecker())
    text = "Let me think.\n4 + 5 = 9\n9 - 2 = 8\nAnswer: 8"
    spans = segment(text, {"problem": "4 + 5 - 2"})
    assert [text[s:e] for s, e in spans] == ["4 + 5 = 9", "9 - 2 = 8"]  # labels are not used


def test_bad_stepwise_rows_are_one_line_errors(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"prompt": "p", "completions": ["a", "b"], "labels": [1]}) + "\n")
    done = subprocess.run(
        [sys.executable, str(RECIPE), "--dataset", str(data), "--output_dir", str(tmp_path / "o")],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "give one label per step" in done.stderr.strip().splitlines()[-1]


def test_synthetic_solutions_carry_the_exact_checkers_labels_and_skip_held_out_problems():
    import random

    from rlreward.tasks.arithmetic import check_completion, parse_problem

    recipe = load_recipe()
    rows = recipe.synthetic_solutions(300, exclude={"5 + 3 - 2"}, seed=0)
    wrong_at = []
    for row in rows:
        check = check_completion(parse_problem(row["problem"]), "\n".join(row["completions"]))
        assert [float(ok) for _, _, ok in check.lines[: check.judged]] == row["labels"]  # the checker agrees
        assert row["prompt"].endswith(f"Compute {row['problem']}\n")
        wrong_at.append(row["labels"].index(0.0) if 0.0 in row["labels"] else None)
    assert "5 + 3 - 2" not in {r["problem"] for r in rows}
    share_right = wrong_at.count(None) / len(rows)
    assert 0.25 < share_right < 0.42  # one in three stays right
    assert {0, 1} <= set(wrong_at)  # errors at every step of the recipe's 3-term problems
    lines, labels = recipe.perturbed_solution(parse_problem("4 + 7 - 2"), random.Random(3))
    assert len(lines) == len(labels) == 2 and labels == sorted(labels, reverse=True)


def test_synthetic_solutions_join_the_training_split_only():
    recipe = load_recipe()
    import datasets

    steps = {"prompt": ["p"], "completions": [["1 + 1 = 2"]], "labels": [[1.0]], "problem": ["1 + 1"]}
    solutions = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(steps), "eval": datasets.Dataset.from_dict(steps)}
    )
    grown = recipe.add_synthetic(solutions, 5, seed=0)
    assert len(grown["train"]) == 6 and len(grown["eval"]) == 1
    assert "1 + 1" not in grown["train"]["problem"][1:]
    assert recipe.add_synthetic(solutions, 0, seed=0) is solutions
    with pytest.raises(ValueError, match="--synthetic"):
        recipe.PRMArguments(synthetic=-1)


def test_process_reward_reads_the_context_column_the_prm_was_trained_with(tmp_path):
    from rlreward.rewards.process import context_text

    folder = tiny_prm(tmp_path / "prm")
    prm = ClassifierReward(str(folder), include_prompt=True, per_token=None)
    text = f"{RIGHT[0]}\n{WRONG[1]}"
    ids = [ord(c) for c in text]
    prefixes = step_prefixes(text, line_steps(text))
    by_column = ProcessReward(prm, decode=lambda ids: "".join(map(chr, ids)), context="question")
    scored = evaluate_reward(by_column, ["a long prompt"], [text], [ids], question=[PROMPTS[0]])
    logits = prm(prompts=[context_text(PROMPTS[0])] * 2, completions=prefixes)
    assert context_text(PROMPTS[0]) == PROMPTS[0] + "\n"
    expected = sum((2 / (1 + math.exp(-z)) - 1) / 2 for z in logits)
    assert scored.sequence[0].item() == pytest.approx(expected, abs=1e-5)
    assert by_column.contexts(["a long prompt"], [{"question": PROMPTS[0]}]) == [PROMPTS[0] + "\n"]
    by_prompt = ProcessReward(prm, decode=chr)
    assert by_prompt.contexts(["a long prompt"], [{"question": PROMPTS[0]}]) == ["a long prompt"]
    with pytest.raises(ValueError, match="column 'question'"):
        evaluate_reward(by_column, ["p"], [text], [ids])
    prm.model.config.rlreward_prm_context = "question"  # written by train_prm.py: read when not given
    assert ProcessReward(prm, decode=chr).context == "question"
    assert ProcessReward(prm, decode=chr, context="prompt").context is None


def test_train_prm_saves_the_context_column_it_read(tmp_path):
    recipe = load_recipe()
    base = tiny_prm(tmp_path / "base")
    rows = [json.loads(line) for line in write_solutions(tmp_path / "plain.jsonl", copies=2).open()]
    data = tmp_path / "steps.jsonl"
    data.write_text("".join(json.dumps({**r, "question": r["prompt"]}) + "\n" for r in rows))
    out = tmp_path / "prm"
    common = [
        "--model_name_or_path", str(base), "--dataset", str(data), "--eval_size", "6", "--max_steps", "2",
        "--lora_target_modules", "query", "value",  # LoRA, the default, on the tiny BERT
    ]  # fmt: skip
    report = recipe.main(
        [*common, "--context", "question", "--output_dir", str(out), "--disable_tqdm", "true"]
    )
    assert report["context"] == "question"
    reward = ProcessReward(str(out), decode=chr)
    assert reward.context == "question" and reward.prm.model.config.rlreward_prm_context == "question"
    with pytest.raises(ValueError, match="--context 'answer' is not a column"):
        recipe.main([*common, "--context", "answer", "--output_dir", str(tmp_path / "other")])
    datasets = pytest.importorskip("datasets")
    solutions = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)})
    assert recipe.choose_context(solutions, None) == "prompt"  # no 'problem' column
    with_problem = solutions["train"].add_column("problem", ["1 + 1"] * len(rows))
    assert recipe.choose_context(datasets.DatasetDict({"train": with_problem}), None) == "problem"
    assert recipe.step_rows(with_problem.select([0]), "problem")[0] == ["1 + 1\n", "1 + 1\n"]


def test_a_trainer_names_the_columns_its_rewards_read_before_it_trains(tmp_path, tokenizer, policy):
    from conftest import tiny_config
    from datasets import Dataset

    from rlreward.rewards import CombinedReward, NormalizedReward
    from rlreward.rewards.process import CheckerStepReward, OutcomeReward
    from rlreward.tasks.arithmetic import ArithmeticChecker
    from rlreward.trainers import ReinforceConfig, ReinforceTrainer

    prm = ClassifierReward(str(tiny_prm(tmp_path / "prm")), include_prompt=True, per_token=None)
    by_column = ProcessReward(prm, decode=chr, context="question")
    outcome, steps = OutcomeReward(ArithmeticChecker()), CheckerStepReward(ArithmeticChecker(), decode=chr)
    assert by_column.required_columns() == ["question"]
    assert ProcessReward(prm, decode=chr).required_columns() == []
    assert NormalizedReward(CombinedReward([outcome, by_column])).required_columns() == [
        "problem",
        "question",
    ]
    config = tiny_config(ReinforceConfig, tmp_path / "run", use_peft=False, num_generations=2)
    data = Dataset.from_dict({"prompt": ["1 + 2", "3 + 4"], "problem": ["1 + 2", "3 + 4"]})
    with pytest.raises(ValueError, match=r"reads the column\(s\) \['question'\], which train_dataset lacks"):
        ReinforceTrainer(policy, [steps, by_column], data, config, tokenizer=tokenizer)
    held_out = Dataset.from_dict({"prompt": ["5 + 6"]})
    with pytest.raises(ValueError, match=r"\['problem'\], which eval_dataset lacks"):
        ReinforceTrainer(policy, [outcome, steps], data, config, tokenizer=tokenizer, eval_dataset=held_out)
    ReinforceTrainer(policy, [outcome, steps], data, config, tokenizer=tokenizer)  # every column there


def test_validation_chooses_the_epoch_and_its_weights_are_the_ones_saved(tmp_path):
    recipe = load_recipe()
    base = tiny_prm(tmp_path / "base")
    data = write_solutions(tmp_path / "steps.jsonl")
    out = tmp_path / "prm"
    report = recipe.main(
        [*tiny_training(base, data, out), "--validation_size", "12", "--num_train_epochs", "3"]
    )
    assert report["train_solutions"] == 48 and report["validation_solutions"] == 12
    history = report["validation"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    aurocs = [h["eval/step_auroc"] for h in history]
    assert report["chosen_epoch"] == 1 + aurocs.index(max(aurocs))  # the earliest best
    # the saved PRM scores the validation solutions as the chosen epoch did
    args = recipe.PRMArguments(dataset=str(data), eval_size=12, validation_size=12)
    solutions = recipe.split_validation(recipe.load_solutions(args, 0, out)[0], 12, 0)  # seed 0, the default
    saved = ClassifierReward(str(out), include_prompt=True, per_token=None)
    again = recipe.prm_metrics(saved, solutions["validation"])["eval/step_auroc"]
    assert again == pytest.approx(aurocs[report["chosen_epoch"] - 1])


def test_best_epoch_puts_back_the_best_epochs_weights(tmp_path):
    import datasets

    recipe = load_recipe()
    model, tokenizer, scorer = load_scorer(str(tiny_prm(tmp_path / "base")), "step_correct", True, 16)
    rows = [json.loads(line) for line in write_solutions(tmp_path / "steps.jsonl", copies=1).open()]
    validation = datasets.Dataset.from_list(rows)
    callback = recipe.BestEpoch(scorer, validation, "prompt")
    model.train()
    head = model.classifier.weight
    first = recipe.prm_metrics(scorer, validation)["eval/step_auroc"]
    if first < 0.5:  # make the first epoch the better one: the reversed scores give 1 - AUROC
        head.data.neg_()
    state = TrainerState()
    callback.on_epoch_end(None, state, None, model=model)
    best = head.detach().clone()
    head.data.neg_()  # the second epoch scores the steps in reverse: a worse AUROC
    callback.on_epoch_end(None, state, None, model=model)
    aurocs = [h["eval/step_auroc"] for h in callback.history]
    assert aurocs[0] > 0.5 > aurocs[1] and aurocs[0] == pytest.approx(1 - aurocs[1])
    callback.on_train_end(None, state, None, model=model)
    assert callback.chosen_epoch == 1 and torch.equal(head, best)
    assert model.training  # scored in eval mode, put back as it was


def test_validation_size_is_checked():
    recipe = load_recipe()
    with pytest.raises(ValueError, match="--validation_size must be >= 0"):
        recipe.PRMArguments(validation_size=-1)
    import datasets

    one_class = {"prompt": ["p", "q"], "completions": [["a"], ["b"]], "labels": [[1.0], [1.0]]}
    solutions = datasets.DatasetDict({"train": datasets.Dataset.from_dict(one_class)})
    with pytest.raises(ValueError, match="only right or only wrong steps"):
        recipe.split_validation(solutions, 1, seed=0)
