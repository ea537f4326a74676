"""Topic classification: the corpus data, the answer's label, the rewards and the macro metrics."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import save_tiny_chat_model, save_tiny_reward_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rlreward.data.topics import DEFAULT_TOPICS, label_order, load_topics, topic_examples
from rlreward.rewards.base import evaluate_reward
from rlreward.tasks import get_task
from rlreward.tasks.classification import (
    classification_items,
    classification_metrics,
    label_potential,
    predicted_label,
    soft_label_potential,
)

LABELS = ["ai", "food", "sports", "science"]


def test_topics_are_single_label_deduplicated_and_split_stratified():
    examples = topic_examples()
    owners = Counter(t.casefold() for texts in examples.values() for t in texts)
    assert max(owners.values()) == 1  # no utterance under two topics
    data = load_topics(seed=0)
    train, held_out = Counter(data["train"]["label"]), Counter(data["eval"]["label"])
    assert set(held_out) == set(DEFAULT_TOPICS)
    for topic in DEFAULT_TOPICS:  # each topic holds out a quarter of its (capped) messages
        total = train[topic] + held_out[topic]
        assert total == min(60, len(examples[topic])) and held_out[topic] == max(1, round(0.25 * total))
    assert not set(data["train"]["text"]) & set(data["eval"]["text"])
    row = data["eval"][0]
    assert row["text"] in row["prompt"] and all(label in row["prompt"] for label in row["labels"])
    assert load_topics(seed=0)["eval"]["text"] == data["eval"]["text"]  # seeded


def test_each_prompt_lists_the_topics_in_its_own_seeded_order():
    data = load_topics(seed=0)["train"]
    orders = [tuple(row["labels"]) for row in data]
    assert all(sorted(o) == sorted(DEFAULT_TOPICS) for o in orders)
    assert len(set(orders)) > len(orders) // 2  # not one fixed order
    first = Counter(o[0] for o in orders)  # no topic is listed first much more often than a tenth
    assert max(first.values()) < 0.25 * len(orders)
    row = data[0]
    assert f"Topics: {', '.join(row['labels'])}." in row["prompt"]  # the prompt lists the row's order
    assert label_order(DEFAULT_TOPICS, row["text"]) == row["labels"]  # a function of the text alone
    fixed = load_topics(seed=0, shuffle_labels=False)["train"]
    assert {tuple(r["labels"]) for r in fixed} == {DEFAULT_TOPICS}


def test_the_answer_names_its_label_first_as_a_whole_word():
    assert predicted_label("Sports.", LABELS) == "sports"
    assert predicted_label("It is about food, not science", LABELS) == "food"
    assert predicted_label("airport", LABELS) is None  # 'ai' only as a whole word
    assert predicted_label("", LABELS) is None
    assert label_potential("It is about spor", "sports", LABELS) == pytest.approx(4 / 6)
    assert label_potential("It is about s", "sports", LABELS) == pytest.approx(1 / 6)
    assert label_potential("It is about science", "sports", LABELS) == 0.0
    assert label_potential("It is about sports", "sports", LABELS) == 1.0
    assert label_potential("It is about spor ", "sports", LABELS) == 0.0  # the word ended short of it


def test_label_prefix_credits_the_gold_labels_tokens_as_they_are_written(tokenizer):
    reward = get_task("classification").rewards["label_prefix"](tokenizer)
    completions = ["sports", "science", "i think sports"]
    ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in completions]
    out = evaluate_reward(reward, [""] * 3, completions, ids, label=["sports"] * 3, labels=[LABELS] * 3)
    assert out.sequence.tolist() == pytest.approx([1.0, 0.0, 1.0])
    torch.testing.assert_close(out.tokens[0, :6], torch.full((6,), 1 / 6))  # one character per token
    assert out.tokens[1, 0].item() == pytest.approx(1 / 6) and out.tokens[1].sum().item() == pytest.approx(
        0.0
    )
    torch.testing.assert_close(out.tokens[2, 8:14], torch.full((6,), 1 / 6))  # credit where the label is
    torch.testing.assert_close(out.tokens.sum(1), out.sequence)
    correct = get_task("classification").rewards["correct"](tokenizer)
    assert correct([""] * 3, completions, label=["sports"] * 3, labels=[LABELS] * 3) == [1.0, 0.0, 1.0]


def test_macro_recall_and_f1_count_unanswered_items_as_wrong():
    rows = [
        {"completion": "food", "label": "food", "labels": LABELS},
        {"completion": "food", "label": "sports", "labels": LABELS},
        {"completion": "no idea", "label": "sports", "labels": LABELS},
        {"completion": "sports", "label": "sports", "labels": LABELS},
    ]
    result = SimpleNamespace(rows=rows)
    assert classification_items(result)["eval/accuracy"] == [1.0, 0.0, 0.0, 1.0]
    metrics = classification_metrics(result)
    # food: recall 1, precision 1/2 -> F1 2/3; sports: recall 1/3, precision 1 -> F1 1/2
    assert metrics["eval/macro_recall"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics["eval/macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_own_dataset_needs_two_labels_and_its_columns(tmp_path):
    task = get_task("classification")
    path = tmp_path / "data.jsonl"
    rows = [{"review": f"text {i}", "stars": "good" if i % 2 else "bad"} for i in range(10)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = SimpleNamespace(dataset=str(path), dataset_column="review", reference_column="stars", eval_size=2)
    data = task.load_data(args, None)
    assert len(data["eval"]) == 2 and all(sorted(r["labels"]) == ["bad", "good"] for r in data["train"])
    assert {tuple(r["labels"]) for r in data["train"]} == {("bad", "good"), ("good", "bad")}  # per-row order
    user, answer = data["train"][0]["messages"]  # the answer is pre-filled: the policy names the label next
    assert "Message: text" in user["content"]
    assert answer == {"role": "assistant", "content": "Topic:"} and "prompt" not in data["train"].column_names
    with pytest.raises(ValueError, match="--dataset_column"):
        task.load_data(
            SimpleNamespace(dataset=str(path), dataset_column=None, reference_column="stars", eval_size=2),
            None,
        )


# ---------------------------------------------------------------- a classifier's belief as the reward
def test_soft_label_potential_is_the_label_potential_against_a_distribution():
    q = {"ai": 0.1, "food": 0.2, "sports": 0.3, "science": 0.4}
    for answer in ["sports", "spor", "It is about s", "science", "no idea", "sports "]:
        one_hot = soft_label_potential(answer, {"sports": 1.0}, LABELS)
        assert one_hot == pytest.approx(label_potential(answer, "sports", LABELS))
    assert soft_label_potential("It is about science", q, LABELS) == pytest.approx(0.4)
    assert soft_label_potential("nothing named", q, LABELS) == 0.0
    # an unfinished word that starts two labels earns a share of each
    assert soft_label_potential("s", q, LABELS) == pytest.approx(0.3 / 6 + 0.4 / 7)
    assert soft_label_potential("sc", q, LABELS) == pytest.approx(0.4 * 2 / 7)


def test_classifier_reward_pays_the_probability_of_the_named_label_in_prefix_deltas(tmp_path, tokenizer):
    folder = save_tiny_reward_model(tmp_path / "clf", num_labels=4, labels=[x.upper() for x in LABELS])
    task = get_task("classification")
    reward = task.classifier(str(folder), tokenizer, 0)
    assert reward.required_columns() == ["text", "labels"]
    texts = ["pizza and pasta", "the match was won"]
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    clf_tokenizer = AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        probs = [model(**clf_tokenizer(t, return_tensors="pt")).logits[0].softmax(-1) for t in texts]
    completions = ["food", "i think science"]
    ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in completions]
    out = evaluate_reward(reward, [""] * 2, completions, ids, text=texts, labels=[LABELS] * 2)
    expected = [probs[0][LABELS.index("food")].item(), probs[1][LABELS.index("science")].item()]
    assert out.sequence.tolist() == pytest.approx(expected, abs=1e-5)  # batched and padded = one by one
    torch.testing.assert_close(out.tokens.sum(1), out.sequence)
    assert out.tokens[1, :8].abs().sum().item() == 0.0  # "i think " names nothing
    with pytest.raises(ValueError, match="has no label 'music'"):
        evaluate_reward(reward, [""], ["food"], ids[:1], text=texts[:1], labels=[LABELS[:3] + ["music"]])


def test_train_classifier_fits_separable_topics_and_never_overwrites(tmp_path):
    base = save_tiny_chat_model(tmp_path / "base")
    words = {"food": "pizza pasta", "sports": "match goal", "science": "atom cell", "ai": "robot model"}
    rows = [{"text": f"{w} {i % 3}", "label": label} for i in range(6) for label, w in words.items()]
    path = tmp_path / "topics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = importlib.util.spec_from_file_location(
        "train_classifier", Path(__file__).resolve().parents[1] / "recipes" / "train_classifier.py"
    )
    recipe = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = recipe
    spec.loader.exec_module(recipe)
    out = tmp_path / "clf"
    argv = ["--model_name_or_path", str(base), "--dataset", str(path), "--eval_size", "8",
            "--output_dir", str(out), "--learning_rate", "1e-2", "--num_train_epochs", "15",
            "--per_device_train_batch_size", "8", "--warmup_steps", "0"]  # fmt: skip
    report = recipe.main(argv)
    assert json.loads((out / "eval.json").read_text()) == report
    assert report["train_rows"] == 16 and report["eval_rows"] == 8 and report["labels"] == sorted(words)
    assert report["after"]["eval/accuracy"] == 1.0  # held-out texts repeat training ones
    assert report["items"]["after"]["eval/accuracy"] == [1.0] * 8
    assert report["after"]["eval/macro_f1"] == 1.0
    assert report["after"]["eval/accuracy_low"] <= 1.0 <= report["after"]["eval/accuracy_high"]
    with pytest.raises(ValueError, match="already holds a trained classifier"):
        recipe.main(argv)


def test_train_classifier_bad_input_is_one_line_at_the_command_line(tmp_path):
    script = Path(__file__).resolve().parents[1] / "recipes" / "train_classifier.py"
    done = subprocess.run(
        [sys.executable, str(script), "--dataset", str(tmp_path / "missing.jsonl")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert "is not an existing file" in done.stderr and len(done.stderr.strip().splitlines()) == 1
