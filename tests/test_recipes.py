"""Recipes: every shipped YAML parses and validates, every recipe runs end to end on a tiny model
(subprocess smoke runs, started together), and every ``--reward`` form loads or fails clearly."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import char_tokenizer, save_tiny_reward_model

from rlreward.recipe import (
    ScriptArguments,
    answer_metrics,
    build_reward,
    load_reward,
    parse_args,
    pass_at_1,
    reference_metrics,
    run,
)
from rlreward.rewards.base import InstantReward, as_instant
from rlreward.rewards.classifier import ClassifierReward
from rlreward.trainers import PPOConfig
from rlreward.trainers.base import EvalResult

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
RL_CONFIGS = sorted((RECIPES / "configs").glob("ppo_*.yaml"))


def load_recipe(name: str):
    """Import ``recipes/<name>.py`` as a module (recipes are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their string annotations through it
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- YAML configs
def test_every_config_belongs_to_a_recipe():
    configs = sorted((RECIPES / "configs").glob("*.yaml"))
    assert RL_CONFIGS, "no recipes/configs/ppo_*.yaml found"
    for path in configs:
        assert (RECIPES / f"{path.stem}.py").is_file(), f"{path.name} has no recipes/{path.stem}.py"


@pytest.mark.parametrize("path", RL_CONFIGS, ids=lambda p: p.stem)
def test_config_parses_validates_and_matches_recipe_defaults(path):
    recipe = load_recipe(path.stem)
    extra = getattr(recipe, "EXTRA_ARGS", ())
    parsed = parse_args(PPOConfig, ["--config", str(path)], defaults=recipe.DEFAULTS, extra=extra)
    args, config = parsed[:2]
    assert isinstance(args, ScriptArguments) and isinstance(config, PPOConfig)
    assert [type(p) for p in parsed[2:]] == list(extra)
    # The YAML documents the recipe's defaults: where both set a value, they agree.
    values = yaml.safe_load(path.read_text())
    disagree = {k: (v, values[k]) for k, v in recipe.DEFAULTS.items() if k in values and values[k] != v}
    assert not disagree, f"{path.name} disagrees with {path.stem}.DEFAULTS: {disagree}"
    # Rewards are built-ins of the recipe (or the dialogue recipe's reward-model folder), one weight each.
    default_model = getattr(recipe, "DEFAULT_REWARD_MODEL", None)
    assert args.reward and all(s in recipe.BUILTIN_REWARDS or s == default_model for s in args.reward)
    assert args.reward_weights is None or len(args.reward_weights) == len(args.reward)
    # CLI flags override the file; impossible combinations are rejected with the field's name.
    overridden = parse_args(PPOConfig, ["--config", str(path), "--max_steps", "3"], recipe.DEFAULTS, extra)
    assert overridden[1].max_steps == 3
    with pytest.raises(ValueError, match="mini_batch_size"):
        parse_args(PPOConfig, ["--config", str(path), "--mini_batch_size", "5"], recipe.DEFAULTS, extra)


def test_parse_args_returns_two_dataclasses_without_extra():
    assert len(parse_args(PPOConfig, [])) == 2


def test_parse_args_merges_repeated_reward_flags():
    args, _ = parse_args(PPOConfig, ["--reward", "a", "--reward", "b", "--reward_weights", "1", "0.5"])
    assert args.reward == ["a", "b"] and args.reward_weights == [1.0, 0.5]
    args, _ = parse_args(PPOConfig, ["--reward=a", "--max_steps", "2", "--reward", "pkg.mod:fn"])
    assert args.reward == ["a", "pkg.mod:fn"]


# ---------------------------------------------------------------------------- smoke runs
# Tiny random Llama (one token per character) with a chat template, so each run takes seconds.
TINY = [
    "--max_steps", "1", "--batch_size", "4", "--mini_batch_size", "4", "--micro_batch_size", "4",
    "--max_new_tokens", "6", "--eval_size", "2", "--save_steps", "0", "--progress_bar", "false",
    "--max_prompt_length", "4000",
]  # fmt: skip
SMOKE = {
    "ppo_sentiment": ([], ["eval/positive_share"]),
    "ppo_qa": ([], ["eval/exact_match", "eval/token_f1"]),
    "ppo_translation": (["--language", "fr"], ["eval/chrf", "eval/bleu"]),
    "ppo_codegen": (
        ["--humaneval_eval", "true", "--humaneval_limit", "2", "--humaneval_max_new_tokens", "6"],
        ["eval/pass@1", "humaneval/pass@1"],
    ),
    "ppo_dialogue": (
        ["--reward", "{reward_model}", "--reward", "repetition", "--reward", "length"],
        ["eval/reward_model", "eval/chrf"],
    ),
}


# The other modes of run(): (recipe, flags, what eval.json must hold).
MODES = {
    "qa_sft_baseline": ("ppo_qa", ["--sft_baseline", "true"], "sft_baseline"),
    "translation_eval_only": ("ppo_translation", ["--eval_only", "true"], "eval_only"),
}


@pytest.fixture(scope="module")
def smoke_runs(tiny_chat_model, tmp_path_factory):
    """Start every recipe at once (one thread each; 2 cores overlap their imports), then wait."""
    reward_model = save_tiny_reward_model(tmp_path_factory.mktemp("reward_model"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    started = {}
    runs = {name: (name, flags) for name, (flags, _) in SMOKE.items()}
    runs |= {name: (recipe, flags) for name, (recipe, flags, _) in MODES.items()}
    for name, (recipe, flags) in runs.items():
        out = tmp_path_factory.mktemp(name)
        # The sentiment recipe goes through `accelerate launch`, as the README runs it.
        launcher = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1"]
        command = (launcher if name == "ppo_sentiment" else [sys.executable]) + [
            str(RECIPES / f"{recipe}.py")
        ]
        command += ["--model_name_or_path", str(tiny_chat_model)]
        command += TINY + ["--output_dir", str(out)] + [f.format(reward_model=reward_model) for f in flags]
        log = open(out / "log.txt", "w")  # noqa: SIM115 - closed after the run below
        started[name] = (
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
            out,
            log,
        )
    results = {}
    for name, (process, out, log) in started.items():
        try:
            code = process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            code = "timeout"
        log.close()
        results[name] = (code, out)
    return results


def finite_numbers(record: dict) -> bool:
    return all(math.isfinite(v) for v in record.values() if isinstance(v, (int, float)))


@pytest.mark.parametrize("name", list(SMOKE))
def test_recipe_smoke_run(smoke_runs, name):
    code, out = smoke_runs[name]
    log = (out / "log.txt").read_text()
    assert code == 0, f"{name} exited with {code}:\n{log[-3000:]}"
    for artifact in ("report.md", "eval.json", "metrics.jsonl", "training.png", "adapter_config.json"):
        assert (out / artifact).is_file(), f"{name} did not write {artifact}"
    assert (out / "adapter_model.safetensors").is_file() and (out / "value_head.safetensors").is_file()
    evaluation = json.loads((out / "eval.json").read_text())
    for stage in ("before", "after"):
        assert set(SMOKE[name][1]) <= set(evaluation[stage]), f"{name} {stage}: {sorted(evaluation[stage])}"
        assert finite_numbers(evaluation[stage]), evaluation[stage]
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) == 1 and finite_numbers(steps[0]) and "rewards/mean" in steps[0]
    assert "| eval/reward |" in (out / "report.md").read_text()


@pytest.mark.parametrize("name", list(MODES))
def test_recipe_modes_evaluate_like_a_training_run(smoke_runs, name):
    """--sft_baseline trains the adapter on reference outputs, --eval_only trains nothing; both report."""
    code, out = smoke_runs[name]
    assert code == 0, f"{name} exited with {code}:\n{(out / 'log.txt').read_text()[-3000:]}"
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["mode"] == MODES[name][2]
    assert finite_numbers(evaluation["after"]) and "eval/kl" in evaluation["after"]
    assert not (out / "metrics.jsonl").exists()  # no RL step ran
    if name == "qa_sft_baseline":
        assert (out / "adapter_model.safetensors").is_file() and evaluation["after"]["eval/kl"] != 0.0
        assert finite_numbers(evaluation["before"]) and evaluation["before"]["eval/kl"] == 0.0
    else:
        assert evaluation["before"] is None
        assert evaluation["after"]["eval/kl"] == 0.0  # the untouched model is its own reference


def test_sft_baseline_refuses_a_task_without_references(tmp_path):
    args, config = parse_args(PPOConfig, ["--sft_baseline", "true", "--output_dir", str(tmp_path)])
    with pytest.raises(ValueError, match="no reference outputs"):
        run(args, config, None, {}, [])


def test_codegen_sft_reference_passes_its_own_tests():
    recipe = load_recipe("ppo_codegen")
    from rlreward.data import load_code_tasks

    rows = list(load_code_tasks()["train"].select(range(8)))
    answers = [{**row, "completion": recipe.reference_answer(row)} for row in rows]
    assert pass_at_1(answers) == 1.0
    assert recipe.reference_answer({"prompt": "def f():", "tests": "assert f()"}) is None


def test_dialogue_without_reward_model_says_how_to_get_one(tmp_path, monkeypatch):
    recipe = load_recipe("ppo_dialogue")
    monkeypatch.chdir(tmp_path)  # no outputs/reward_model_dialogue here
    monkeypatch.setattr(sys, "argv", ["ppo_dialogue.py", "--max_steps", "1"])
    with pytest.raises(SystemExit, match=r"python recipes/train_reward_model\.py"):
        recipe.main()


# ---------------------------------------------------------------------------- --reward forms
class Marker(InstantReward):
    def __init__(self, tokenizer=None):
        self.tokenizer = tokenizer


BUILTINS = {"marker": lambda tokenizer: Marker(tokenizer)}

USER_MODULE = """
from rlreward.rewards.base import InstantReward


def brevity(prompts, completions, **kwargs):
    return [-len(c) / 100 for c in completions]


class NeedsTokenizer(InstantReward):
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer


class NoArguments(InstantReward):
    pass
"""


def test_load_reward_builtin_gets_the_policy_tokenizer():
    tokenizer = char_tokenizer()
    reward = load_reward("marker", tokenizer, BUILTINS)
    assert isinstance(reward, Marker) and reward.tokenizer is tokenizer


def test_load_reward_module_callable(tmp_path, monkeypatch):
    (tmp_path / "user_rewards_for_test.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    tokenizer = char_tokenizer()
    function = load_reward("user_rewards_for_test:brevity", tokenizer, BUILTINS)
    assert as_instant(function)(prompts=["p", "p"], completions=["ab", "abcd"]) == pytest.approx(
        [-0.02, -0.04]
    )
    assert load_reward("user_rewards_for_test:NeedsTokenizer", tokenizer, BUILTINS).tokenizer is tokenizer
    assert isinstance(load_reward("user_rewards_for_test:NoArguments", tokenizer, BUILTINS), InstantReward)
    with pytest.raises(ValueError, match=r"could not import 'missing' from module 'user_rewards_for_test'"):
        load_reward("user_rewards_for_test:missing", tokenizer, BUILTINS)


def test_load_reward_bad_import_is_one_clear_error():
    with pytest.raises(ValueError, match=r"no_such_module_rlreward.*PYTHONPATH"):
        load_reward("no_such_module_rlreward:fn", char_tokenizer(), BUILTINS)


def test_load_reward_classifier_folder_with_label_name(tmp_path):
    folder = save_tiny_reward_model(tmp_path / "rm", num_labels=2, labels=["negative", "positive"])
    tokenizer = char_tokenizer()
    reward = load_reward(str(folder), tokenizer, BUILTINS, label="positive")
    assert isinstance(reward, ClassifierReward) and reward.label == 1
    assert load_reward(str(folder), tokenizer, BUILTINS, label="0").label == 0
    assert len(reward(prompts=["p"], completions=["fine"])) == 1
    built = []  # a recipe's own classifier factory receives (spec, tokenizer, resolved label)
    load_reward(str(folder), tokenizer, BUILTINS, "1", classifier=lambda *a: built.append(a) or Marker())
    assert built == [(str(folder), tokenizer, 1)]


def test_load_reward_classifier_unknown_label_names_the_labels(tmp_path):
    folder = save_tiny_reward_model(tmp_path / "rm", num_labels=2, labels=["negative", "positive"])
    with pytest.raises(ValueError, match="positive"):
        load_reward(str(folder), char_tokenizer(), BUILTINS, label="happy")


@pytest.mark.parametrize("spec", ["markr", "./no/such/folder", "no such reward"])
def test_load_reward_unknown_name_fails_at_once_and_lists_builtins(spec):
    with pytest.raises(ValueError, match=r"not a built-in \(marker\)"):
        load_reward(spec, char_tokenizer(), BUILTINS)


def test_build_reward_weights():
    tokenizer = char_tokenizer()
    builtins = {**BUILTINS, "other": lambda tokenizer: Marker(tokenizer)}
    default = ["marker", "other"]
    args = ScriptArguments()
    assert build_reward(args, tokenizer, builtins, default, [1.0, 0.5])[1] == [1.0, 0.5]
    args = ScriptArguments(reward_weights=[2.0, 3.0])  # re-weights the defaults
    assert build_reward(args, tokenizer, builtins, default, [1.0, 0.5])[1] == [2.0, 3.0]
    args = ScriptArguments(reward=["other"])  # own rewards drop the default weights
    rewards, weights = build_reward(args, tokenizer, builtins, default, [1.0, 0.5])
    assert len(rewards) == 1 and weights is None
    with pytest.raises(ValueError, match="one weight per reward"):
        build_reward(
            ScriptArguments(reward=["marker"], reward_weights=[1.0, 2.0]), tokenizer, builtins, default
        )


# ---------------------------------------------------------------------------- task metrics
def rows(**columns) -> EvalResult:
    n = len(next(iter(columns.values())))
    return EvalResult({}, [{k: v[i] for k, v in columns.items()} for i in range(n)])


def test_answer_metrics():
    result = rows(
        completion=["The Louvre.", "Paris, France", "no idea"], answers=[["Louvre"], ["Paris"], ["x"]]
    )
    metrics = answer_metrics(result)
    assert metrics["eval/exact_match"] == pytest.approx(1 / 3)
    assert metrics["eval/token_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_reference_metrics_are_on_sacrebleu_scale():
    perfect = reference_metrics(
        rows(completion=["the cat sat on the mat"], reference=["the cat sat on the mat"])
    )
    assert perfect == {"eval/chrf": pytest.approx(100.0), "eval/bleu": pytest.approx(100.0)}
    assert set(reference_metrics(rows(completion=["a"], reference=["b"]), bleu=False)) == {"eval/chrf"}


def test_pass_at_1_counts_only_fully_passing_code():
    prompt = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum of xs."""\n'
    tests = "assert total([1, 2]) == 3\nassert total([]) == 0\n"
    fenced = "Here it is:\n```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```\nDone."
    half = "```python\ndef total(xs: List[int]) -> int:\n    return sum(xs) if xs else 1\n```"
    result = rows(
        prompt=[prompt] * 3,
        completion=[fenced, half, "no code"],
        tests=[tests] * 3,
        entry_point=["total"] * 3,
    )
    # The preamble (``from typing import List``) comes from the prompt: the fenced answer passes.
    assert pass_at_1(result.rows) == pytest.approx(1 / 3)
