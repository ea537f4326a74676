"""The arithmetic task: seeded problems, held-out split, the exact checker, metrics, own data."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rlreward.tasks import get_task
from rlreward.tasks.arithmetic import (
    ArithmeticArguments,
    Problem,
    arithmetic_metrics,
    check_completion,
    examples,
    format_prompt,
    generated_splits,
    load_data,
    make_problems,
    parse_problem,
)
from rlreward.trainers.base import EvalResult


def test_problem_steps_totals_and_solution():
    p = parse_problem("Compute 47 + 8 - 19 + 36.")
    assert p == Problem((47, 8, 19, 36), ("+", "-", "+"))
    assert p.totals() == [47, 55, 36, 72] and p.answer == 72
    assert p.solution() == "47 + 8 = 55\n55 - 19 = 36\n36 + 36 = 72\nAnswer: 72"
    assert p.text == "47 + 8 - 19 + 36"


@pytest.mark.parametrize("text", ["47 * 8", "47 +", "", "-3 + 4", "a + b"])
def test_parse_problem_rejects_what_is_not_a_chain(text):
    with pytest.raises(ValueError, match="not a chain"):
        parse_problem(text)


def test_make_problems_is_seeded_distinct_and_never_negative():
    a = make_problems(300, seed=3, num_terms=4, digits=2)
    assert a == make_problems(300, seed=3, num_terms=4, digits=2)
    assert a != make_problems(300, seed=4, num_terms=4, digits=2)
    assert len({p.text for p in a}) == 300
    assert all(min(p.totals()) >= 0 and len(p.terms) == 4 for p in a)
    assert all(1 <= t <= 99 for p in a for t in p.terms)
    assert {op for p in a for op in p.ops} == {"+", "-"}
    with pytest.raises(ValueError, match="distinct problems"):
        make_problems(200, seed=0, num_terms=2, digits=1)  # 81 sums and 45 differences exist


def test_held_out_train_and_examples_are_disjoint():
    options = ArithmeticArguments(num_terms=3, digits=1, num_train=300, shots=2)
    splits = generated_splits(options, eval_size=200)
    train, held_out = set(splits["train"]["problem"]), set(splits["eval"]["problem"])
    shots = {p.text for p in examples(3, 1, 2)}
    assert len(train) == 300 and len(held_out) == 200
    assert not train & held_out and not shots & (train | held_out)
    row = splits["eval"][0]
    assert row["prompt"].endswith(f"Compute {row['problem']}\n")
    assert row["prompt"].count("\nAnswer: ") == 2  # the two worked examples
    assert check_completion(parse_problem(row["problem"]), row["reference"]).correct


def test_every_reference_solution_passes_the_checker():
    for p in make_problems(50, seed=1, num_terms=5, digits=2):
        check = check_completion(p, p.solution())
        assert check.correct and check.labels == [True] * 4 and check.correct_prefix == 4


def test_checker_labels_with_first_error_and_takes_the_first_answer():
    p = parse_problem("5 + 3 - 2")
    check = check_completion(p, "5 + 3 = 9\n9 - 2 = 7\nAnswer: 6\nAnswer: 7")
    assert check.labels == [False, False] and check.answer == 6 and check.correct
    check = check_completion(p, "5 + 3 = 8\n8 - 2 = 6\n6 + 0 = 6\nAnswer: 6")
    assert check.labels == [True, True, False]  # no third step exists
    check = check_completion(p, "5 + 3 = 8\n8 - 2 = 6\nAnswer: 6\n6 + 1 = 7")
    assert len(check.lines) == 2  # lines after the answer are not read
    check = check_completion(p, "8 - 2 = 6\n5 + 3 = 8\nAnswer: 6")
    assert check.labels == [False, False]  # steps in the wrong order
    assert check_completion(p, "5 + 3 = 8 - 2 = 6\nAnswer: 6").labels == [False]


def test_metrics_accuracy_step_accuracy_answer_rate():
    rows = [
        {"problem": "5 + 3 - 2", "completion": "5 + 3 = 8\n8 - 2 = 6\nAnswer: 6"},
        {"problem": "5 + 3 - 2", "completion": "5 + 3 = 8\n8 - 2 = 5\nAnswer: 5"},
        {"problem": "5 + 3 - 2", "completion": "I think it is six."},
        {"problem": "5 + 3 - 2", "completion": "Answer: 6"},
    ]
    metrics = arithmetic_metrics(EvalResult({}, rows))
    assert metrics["eval/accuracy"] == 0.5
    assert metrics["eval/step_accuracy"] == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert metrics["eval/answer_rate"] == 0.75


def test_own_dataset_needs_parsable_problems(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps({"expr": f"{i} + {i + 1} - 1"}) + "\n" for i in range(1, 21)))
    args = SimpleNamespace(dataset=str(path), dataset_column="expr", eval_size=5)
    splits = load_data(args, ArithmeticArguments(shots=1))
    assert len(splits["eval"]) == 5 and len(splits["train"]) == 15
    assert splits["eval"][0]["answer"] == parse_problem(splits["eval"][0]["problem"]).answer
    path.write_text(json.dumps({"expr": "2 * 3"}) + "\n")
    with pytest.raises(ValueError, match="row 0, column 'expr'"):
        load_data(args, ArithmeticArguments())


def test_task_record_and_its_rewards(tokenizer, monkeypatch, tmp_path):
    from rlreward.tasks import arithmetic

    task = get_task("arithmetic")
    assert task.default_reward == ("outcome", "steps") and task.default_weights == (1.0, 0.5)
    rewards = {name: task.rewards[name](tokenizer) for name in ("outcome", "steps")}
    assert rewards["outcome"].per_token == "terminal" and rewards["steps"].per_token == "steps"
    # The trained PRM is read from DEFAULT_PRM; without one, the error says how to train it.
    monkeypatch.setattr(arithmetic, "DEFAULT_PRM", str(tmp_path / "no_prm"))
    with pytest.raises(ValueError, match="python recipes/train_prm.py"):
        task.rewards["prm"](tokenizer)
    assert task.reference({"reference": "x"}) == "x"
    assert format_prompt(parse_problem("1 + 2")).endswith("Compute 1 + 2\n")
