"""Process rewards: hand-computed per-token rewards of scratchpads, first-error semantics, alignment
to multi-character tokens, the sum contract, and the docs' examples."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rlreward.rewards.base import evaluate_reward
from rlreward.rewards.process import (
    CheckerStepReward,
    OutcomeReward,
    StepCheck,
    place_on_tokens,
    step_values,
)
from rlreward.rewards.shaping import CombinedReward
from rlreward.tasks.arithmetic import ArithmeticChecker


class Pieces:
    """A toy tokenizer whose tokens are multi-character pieces: ``decode`` concatenates them."""

    def __init__(self, pieces: list[str]):
        self.pieces = pieces

    def ids(self) -> list[int]:
        return list(range(len(self.pieces)))

    def text(self) -> str:
        return "".join(self.pieces)

    def __call__(self, ids: list[int]) -> str:
        return "".join(self.pieces[i] for i in ids)


def char_decode(ids: list[int]) -> str:
    return "".join(map(chr, ids))


def char_ids(text: str) -> list[int]:
    return [ord(c) for c in text]


PROBLEM = "47 + 8 - 19 + 36"  # 47 + 8 = 55, 55 - 19 = 36, 36 + 36 = 72: S = 3


def steps_reward(**kwargs) -> CheckerStepReward:
    return CheckerStepReward(ArithmeticChecker(), decode=char_decode, **kwargs)


def score(reward, texts: list[str], problem: str = PROBLEM):
    return evaluate_reward(
        reward, [""] * len(texts), texts, [char_ids(t) for t in texts], problem=[problem] * len(texts)
    )


def test_a_right_solution_gets_one_third_at_the_end_of_each_line():
    text = "47 + 8 = 55\n55 - 19 = 36\n36 + 36 = 72\nAnswer: 72"
    out = score(steps_reward(), [text])
    row = out.tokens[0]
    # Lines end at characters 11, 24, 37 (just past "55", "36", "72"): tokens 10, 23, 36.
    expected = torch.zeros(len(text))
    expected[[10, 23, 36]] = 1 / 3
    assert torch.allclose(row, expected)
    assert out.sequence.item() == pytest.approx(1.0) == row.sum().item()
    assert out.components["step_accuracy"].item() == 1.0 and out.components["steps_found"].item() == 3


def test_first_error_makes_every_later_step_wrong():
    # Step 2 is wrong (55 - 19 = 35); step 3 is right arithmetic on the wrong total, still wrong.
    text = "47 + 8 = 55\n55 - 19 = 35\n35 + 36 = 71\nAnswer: 71"
    check = ArithmeticChecker()(text, {"problem": PROBLEM})
    assert check.labels == [True, False, False] and not check.correct and check.answer == 71
    out = score(steps_reward(), [text])
    nonzero = [(j, round(v, 4)) for j, v in enumerate(out.tokens[0].tolist()) if v]
    assert nonzero == [(10, 0.3333), (23, -0.3333), (36, -0.3333)]
    assert out.sequence.item() == pytest.approx(-1 / 3)
    assert out.components["step_accuracy"].item() == pytest.approx(1 / 3)
    # A right line after a wrong one is wrong too (first-error semantics), even if it is step 3 exactly.
    text = "47 + 8 = 55\n55 - 19 = 35\n36 + 36 = 72\nAnswer: 72"
    check = ArithmeticChecker()(text, {"problem": PROBLEM})
    assert check.labels == [True, False, False] and check.correct  # the outcome is the answer alone


def test_positive_only_credit_and_lines_beyond_s_get_nothing():
    text = "47 + 8 = 55\n55 - 19 = 35\n35 + 36 = 71\n71 + 1 = 72\nAnswer: 72"
    out = score(steps_reward(wrong=0.0), [text])
    assert out.sequence.item() == pytest.approx(1 / 3)
    assert torch.count_nonzero(out.tokens[0]) == 1
    out = score(steps_reward(), [text])  # the 4th line is not judged: S = 3
    assert out.sequence.item() == pytest.approx((1 - 2) / 3)
    assert out.tokens[0].sum().item() == pytest.approx(out.sequence.item())


def test_commentary_lines_are_not_steps_and_spacing_is_free():
    text = "Let's go step by step.\n47+8=55\n  55 - 19 = 36 \n36 + 36 = 72\nAnswer:72"
    check = ArithmeticChecker()(text, {"problem": PROBLEM})
    assert check.labels == [True, True, True] and check.correct
    assert [text[s:e] for s, e, _ in check.lines] == ["47+8=55", "  55 - 19 = 36", "36 + 36 = 72"]


def test_no_answer_no_steps_and_empty_completions():
    out = score(steps_reward(), ["I cannot do that.", ""])
    assert out.sequence.tolist() == [0.0, 0.0] and not out.tokens.any()
    out = score(OutcomeReward(ArithmeticChecker()), ["I cannot do that.", ""])
    assert out.sequence.tolist() == [0.0, 0.0] and out.components["accuracy"].tolist() == [0.0, 0.0]


def test_outcome_is_one_on_the_last_token_only():
    texts = ["Answer: 72", "47 + 8 = 54\nAnswer: 72", "Answer: 71"]
    out = score(OutcomeReward(ArithmeticChecker()), texts)
    assert out.sequence.tolist() == [1.0, 1.0, 0.0]
    for i, text in enumerate(texts):
        row = out.tokens[i, : len(text)]
        assert row[-1].item() == out.sequence[i].item() and row[:-1].abs().sum() == 0
        assert out.tokens[i, len(text) :].abs().sum() == 0  # padding


def test_credit_lands_on_the_token_that_completes_the_line():
    # Multi-character tokens: "=" and " 55\n" are one token each; the line "47 + 8 = 55" ends inside
    # token 4 (" 55\n"), the second line inside token 8 (" 36\n"), the third at token 12 (" 72").
    pieces = Pieces(
        [
            "47",
            " +",
            " 8",
            " =",
            " 55\n",
            "55",
            " -",
            " 19 =",
            " 36\n",
            "36 +",
            " 36",
            " =",
            " 72",
            "\nAnswer: 72",
        ]
    )
    reward = CheckerStepReward(ArithmeticChecker(), decode=pieces)
    out = evaluate_reward(reward, [""], [pieces.text()], [pieces.ids()], problem=[PROBLEM])
    nonzero = [j for j, v in enumerate(out.tokens[0].tolist()) if v]
    assert nonzero == [4, 8, 12]
    assert out.tokens[0].sum().item() == pytest.approx(out.sequence.item()) == pytest.approx(1.0)


def test_place_on_tokens_adds_up_values_on_one_token_and_clamps_past_the_end():
    pieces = Pieces(["ab", "cd", "ef"])
    assert place_on_tokens(pieces.ids(), pieces, [(1, 0.5), (2, 0.25), (99, 1.0)]) == [0.75, 0.0, 1.0]
    assert place_on_tokens([], pieces, [(1, 0.5)]) == []


def test_step_values_with_unknown_step_count_judges_every_line():
    check = StepCheck(lines=[(0, 3, True), (4, 7, False)], correct=False, num_steps=None)
    assert step_values(check) == [(3, 0.5), (7, -0.5)] and check.correct_prefix == 1


def test_default_combination_sums_to_the_weighted_scores():
    texts = ["47 + 8 = 55\n55 - 19 = 36\n36 + 36 = 72\nAnswer: 72", "47 + 8 = 55\n55 - 19 = 35\nAnswer: 72"]
    combined = CombinedReward([OutcomeReward(ArithmeticChecker()), steps_reward()], [1.0, 0.5])
    out = score(combined, texts)
    assert out.sequence.tolist() == pytest.approx([1.5, 1.0 + 0.5 * 0.0])
    assert out.tokens.sum(1).tolist() == pytest.approx(out.sequence.tolist())
    assert set(out.token_components) == {"outcome", "steps"}


def test_called_without_ids_gives_sequence_scores_from_the_text():
    reward = steps_reward()
    text = "47 + 8 = 55\n55 - 19 = 36\nAnswer: 36"
    assert reward(prompts=[""], completions=[text], problem=[PROBLEM]) == pytest.approx([2 / 3])


def test_missing_problem_column_says_which_column():
    with pytest.raises(ValueError, match="column 'problem'"):
        evaluate_reward(OutcomeReward(ArithmeticChecker()), [""], ["Answer: 1"], [[1]])


def test_rewards_pickle_and_reject_bad_arguments():
    reward = CheckerStepReward(ArithmeticChecker(), decode=char_decode)
    assert pickle.loads(pickle.dumps(reward)).wrong == -1.0
    with pytest.raises(ValueError, match="tokenizer"):
        CheckerStepReward(ArithmeticChecker())
    with pytest.raises(ValueError, match="<= 0"):
        CheckerStepReward(ArithmeticChecker(), decode=char_decode, wrong=0.5)
    with pytest.raises(TypeError, match="callable"):
        OutcomeReward(checker="problem")


def test_docs_examples_run(tokenizer):
    from test_docs import python_blocks

    page = Path(__file__).resolve().parents[1] / "docs" / "process_rewards.md"
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    assert blocks, "docs/process_rewards.md has no tested python blocks"
    namespace = {"__name__": "docs_process_rewards", "tokenizer": tokenizer}
    for line, code in blocks:
        exec(compile(code, f"docs/process_rewards.md:{line}", "exec"), namespace)


def _benchmark_module():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "process_rewards.py"
    spec = importlib.util.spec_from_file_location("process_rewards_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rollouts_to_reach_interpolates_between_checkpoints():
    reach = _benchmark_module().rollouts_to_reach
    curve = [(0, 0.2), (64, 0.3), (128, 0.5)]
    assert reach(curve, 0.4) == pytest.approx(96.0)  # halfway from 0.3 to 0.5
    assert reach(curve, 0.3) == pytest.approx(64.0)
    assert reach(curve, 0.1) == 0.0  # already there before training
    assert reach(curve, 0.6) is None


def test_analysis_compares_every_step_reward_variant_with_outcome_only_per_seed():
    bench = _benchmark_module()

    def run(curve, after):
        return {"curve": curve, "before": [0, 0, 0, 0], "after": after, "step_seconds": [1.0, 3.0]}

    runs = {
        ("outcome", 0): run([(0, 0.0), (32, 0.25), (64, 0.5)], [1, 1, 0, 0]),
        ("outcome+steps", 0): run([(0, 0.0), (32, 0.5), (64, 0.75)], [1, 1, 1, 0]),
        ("outcome+prm", 0): run([(0, 0.0), (32, 0.0), (64, 0.25)], [1, 0, 0, 0]),
    }
    analysis = bench.analyse(runs, [0], budget=64, base=[0, 0, 0, 0])
    steps, prm = analysis["per_seed"]["outcome+steps/0"], analysis["per_seed"]["outcome+prm/0"]
    assert steps["rollouts_to_outcome_final"] == pytest.approx(32.0) and steps["ratio"] == pytest.approx(0.5)
    assert steps["minus_outcome"][0] == pytest.approx(0.25)
    assert prm["rollouts_to_outcome_final"] is None and prm["minus_outcome"][0] == pytest.approx(-0.25)
    assert analysis["per_run"]["outcome+prm/0"]["step_s"] == 2.0
    table = bench.markdown(analysis, SimpleNamespace(k=4, steps=4, batch_size=16, curve_size=4, eval_size=4),
                           {"num_terms": 3, "digits": 1, "shots": 2, "eval_size": 4})  # fmt: skip
    assert "| 0 | outcome+prm | -0.250" in table and "32 (0.50x)" in table


def test_a_finished_run_is_reused_only_with_the_settings_it_was_run_with(tmp_path):
    import argparse
    import json

    bench = _benchmark_module()
    args = argparse.Namespace(
        model=None,
        steps=12,
        batch_size=16,
        k=4,
        learning_rate=3e-4,
        kl_coef=0.05,
        eval_every=4,
        eval_size=None,
        curve_size=64,
        step_weight=0.5,
        baseline_per_source=False,
        advantage_estimator="rloo",
        scale_rewards=False,
        prm="p",
    )
    path = tmp_path / "run_outcome+steps_0.json"
    path.write_text(json.dumps({"after": [1], "settings": bench.run_settings(args, "outcome+steps")}))
    assert bench.reuse(path, args, "outcome+steps")["after"] == [1]
    # outcome-only runs do not depend on the step weight: shared between folders of different weights
    (tmp_path / "run_outcome_0.json").write_text(
        json.dumps({"settings": bench.run_settings(args, "outcome")})
    )
    args.step_weight = 0.2
    assert "settings" in bench.reuse(tmp_path / "run_outcome_0.json", args, "outcome")
    with pytest.raises(SystemExit, match=r"--step_weight 0.5 -> 0.2.*another --output_dir"):
        bench.reuse(path, args, "outcome+steps")
    path.write_text(json.dumps({"after": [0]}))  # written before settings were stored: taken as it is
    assert bench.reuse(path, args, "outcome+steps")["after"] == [0]
