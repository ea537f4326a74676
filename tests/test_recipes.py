"""Recipes: every shipped YAML parses and validates, every recipe runs end to end on a tiny model
(subprocess smoke runs, started together), and every ``--reward`` form loads or fails clearly."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import char_tokenizer, save_tiny_reward_model

from rlreward.cli.args import ScriptArguments, parse_args
from rlreward.cli.reward_specs import build_reward, load_reward
from rlreward.cli.runner import run_task
from rlreward.rewards.base import InstantReward, as_instant
from rlreward.rewards.classifier import ClassifierReward
from rlreward.tasks import TASK_MODULES, Task, get_task
from rlreward.tasks.codegen import pass_at_1, reference_answer
from rlreward.tasks.qa import answer_metrics
from rlreward.tasks.translation import reference_metrics
from rlreward.trainers import PPOConfig
from rlreward.trainers.base import EvalResult

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
RL_CONFIGS = sorted((RECIPES / "configs").glob("ppo_*.yaml"))


def recipe_task(path: Path) -> Task:
    """The task a launcher ``recipes/ppo_<task>.py`` hands to the runner (read from its import line)."""
    source = path.read_text()
    names = [name for name in TASK_MODULES if f"from rlreward.tasks.{name} import TASK" in source]
    assert len(names) == 1, f"{path.name} should import exactly one task's TASK"
    return get_task(names[0])


# ---------------------------------------------------------------------------- YAML configs
def test_every_config_belongs_to_a_recipe():
    configs = sorted((RECIPES / "configs").glob("*.yaml"))
    assert RL_CONFIGS, "no recipes/configs/ppo_*.yaml found"
    for path in configs:
        assert (RECIPES / f"{path.stem}.py").is_file(), f"{path.name} has no recipes/{path.stem}.py"


@pytest.mark.parametrize("path", RL_CONFIGS, ids=lambda p: p.stem)
def test_config_parses_validates_and_is_the_recipes_only_default(path):
    recipe = RECIPES / f"{path.stem}.py"
    task = recipe_task(recipe)
    extra = (task.options,) if task.options else ()
    # The launcher passes its YAML as the default config: no defaults live in the recipe.
    assert f'"configs" / "{path.name}"' in recipe.read_text()
    assert "DEFAULTS" not in recipe.read_text()
    parsed = parse_args(PPOConfig, [], default_config=path, extra=extra)
    args, config = parsed[:2]
    assert isinstance(args, ScriptArguments) and isinstance(config, PPOConfig)
    assert [type(p) for p in parsed[2:]] == list(extra)
    values = yaml.safe_load(path.read_text())
    assert config.output_dir == values["output_dir"] == f"outputs/{path.stem}"
    assert config.max_steps == values["max_steps"] and args.eval_size == values.get("eval_size", 64)
    # Rewards: the task's default, or built-ins of the task named in the YAML.
    specs = values.get("reward", list(task.default_reward))
    assert all(s in task.rewards or s in task.default_reward for s in specs)
    # CLI flags override the file; --config selects another; impossible combinations are rejected.
    assert parse_args(PPOConfig, ["--max_steps", "3"], path, extra)[1].max_steps == 3
    other = path.parent / "ppo_sentiment.yaml"
    assert (
        parse_args(PPOConfig, ["--config", str(other)], path, extra)[1].output_dir == "outputs/ppo_sentiment"
    )
    with pytest.raises(ValueError, match="mini_batch_size"):
        parse_args(PPOConfig, ["--mini_batch_size", "5"], path, extra)


def test_parse_args_returns_two_dataclasses_without_extra():
    assert len(parse_args(PPOConfig, [])) == 2


def test_parse_args_merges_repeated_reward_flags():
    args, _ = parse_args(PPOConfig, ["--reward", "a", "--reward", "b", "--reward_weights", "1", "0.5"])
    assert args.reward == ["a", "b"] and args.reward_weights == [1.0, 0.5]
    args, _ = parse_args(PPOConfig, ["--reward=a", "--max_steps", "2", "--reward", "pkg.mod:fn"])
    assert args.reward == ["a", "pkg.mod:fn"]


def test_unknown_flag_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"unknown flag --lerning_rate\. Did you mean '--learning_rate'\?"):
        parse_args(PPOConfig, ["--lerning_rate", "1e-4"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_stepz: 3\n", r"unknown key 'max_stepz'\. Did you mean 'max_steps'\?"),
        ("max_steps: many\n", r"max_steps: 'many' is not of type <class 'int'>"),
        ("learning_rate: [1]\n", r"learning_rate: \[1\] is not of type"),
        ("", r"is empty"),
        ("max_steps: [1\n", r"is not valid YAML at line"),
        ("- a\n- b\n", r"must be a mapping"),
    ],
)
def test_bad_yaml_names_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        parse_args(PPOConfig, ["--config", str(path)])
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------------- smoke runs
# Tiny random Llama (one token per character) with a chat template, so each run takes seconds.
TINY = [
    "--max_steps", "1", "--batch_size", "4", "--mini_batch_size", "4", "--micro_batch_size", "4",
    "--max_new_tokens", "6", "--eval_size", "2", "--save_steps", "0", "--progress_bar", "false",
    "--max_prompt_length", "4000",
]  # fmt: skip
SMOKE = {
    "ppo_sentiment": ([], ["eval/vader", "eval/vader_positive_share"]),
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
    "ppo_arithmetic": ([], ["eval/accuracy", "eval/step_accuracy", "eval/answer_rate"]),
    "ppo_classification": ([], ["eval/accuracy", "eval/macro_f1", "eval/macro_recall"]),
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
            code = process.wait(timeout=900)  # generous: a loaded machine is slow, not broken
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
    assert (out / "adapter_model.safetensors").is_file()
    # A value head is trained (and saved) only with GAE advantages; group baselines need none.
    estimator = yaml.safe_load((RECIPES / "configs" / f"{name}.yaml").read_text()).get(
        "advantage_estimator", "gae"
    )
    assert (out / "value_head.safetensors").is_file() == (estimator == "gae"), estimator
    evaluation = json.loads((out / "eval.json").read_text())
    for stage in ("before", "after"):
        assert set(SMOKE[name][1]) <= set(evaluation[stage]), f"{name} {stage}: {sorted(evaluation[stage])}"
        assert finite_numbers(evaluation[stage]), evaluation[stage]
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) == 1 and finite_numbers(steps[0]) and "rewards/mean" in steps[0]
    assert "| eval/reward |" in (out / "report.md").read_text()
    # Every per-item metric gets its paired before/after difference with a bootstrap interval.
    paired = evaluation["paired"]
    assert "eval/reward" in paired and set(paired) <= set(evaluation["after"]) | {"eval/reward"}
    for key, p in paired.items():
        assert p["ci_low"] <= p["diff"] <= p["ci_high"], (key, p)
        assert p["diff"] == pytest.approx(evaluation["after"][key] - evaluation["before"][key], abs=1e-9)
        items = evaluation["items"]["after"][key]  # kept per item, so that runs can be paired
        assert len(items) == p["items"] and sum(items) / len(items) == pytest.approx(evaluation["after"][key])
    assert "95% CI (paired bootstrap)" in (out / "report.md").read_text()


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
        run_task(get_task("sentiment"), args, config)


@pytest.mark.parametrize("completion_mode", [True, False])
def test_codegen_sft_reference_passes_its_own_tests(completion_mode):
    from rlreward.data import load_code_tasks
    from rlreward.tasks.codegen import with_format

    rows = list(with_format(load_code_tasks()["train"].select(range(8)), completion_mode))
    answers = [{**row, "completion": reference_answer(row)} for row in rows]
    assert pass_at_1(answers) == 1.0
    assert reference_answer({"prompt": "def f():", "tests": "assert f()"}) is None


def test_codegen_completion_mode_runs_the_body_up_to_the_function_end():
    from rlreward.data import load_code_tasks
    from rlreward.tasks.codegen import with_format

    row = dict(with_format(load_code_tasks()["train"].select(range(1)), True)[0])
    body = row["canonical_solution"]
    # What the policy writes after the body (its own calls, chatter) is not part of the program.
    completions = [body, body + "\nprint(undefined_name)\n", body + "```\nDone.", "return None\n"]
    assert [pass_at_1([{**row, "completion": c}]) for c in completions] == [1.0, 1.0, 1.0, 0.0]
    chat = {**row, "continues_prompt": False, "completion": body}  # chat mode wants the whole function
    assert pass_at_1([chat]) == 0.0


def test_codegen_completion_mode_refuses_the_chat_template(tmp_path):
    args, config, options = parse_args(
        PPOConfig,
        ["--output_dir", str(tmp_path), "--completion_mode", "true"],
        extra=(get_task("codegen").options,),
    )
    assert config.use_chat_template and options.completion_mode  # the library's chat default, not the YAML's
    with pytest.raises(ValueError, match="--use_chat_template false"):
        run_task(get_task("codegen"), args, config, options)


def test_dialogue_without_reward_model_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no outputs/reward_model_dialogue here
    command = [sys.executable, str(RECIPES / "ppo_dialogue.py"), "--max_steps", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: no reward model at outputs/reward_model_dialogue")
    assert "python recipes/train_reward_model.py" in done.stderr


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

    def task(weights):
        return Task("toy", "toy", lambda a, o: {}, builtins, ("marker", "other"), weights)

    assert build_reward(ScriptArguments(), tokenizer, task((1.0, 0.5)))[1] == [1.0, 0.5]
    args = ScriptArguments(reward_weights=[2.0, 3.0])  # re-weights the defaults
    assert build_reward(args, tokenizer, task((1.0, 0.5)))[1] == [2.0, 3.0]
    args = ScriptArguments(reward=["other"])  # own rewards drop the default weights
    rewards, weights, specs = build_reward(args, tokenizer, task((1.0, 0.5)))
    assert len(rewards) == 1 and weights is None and specs == ["other"]
    with pytest.raises(ValueError, match="one weight per reward"):
        build_reward(ScriptArguments(reward=["marker"], reward_weights=[1.0, 2.0]), tokenizer, task(None))


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


# ---------------------------------------------------------------------------- the runner takes any Task
def toy_data(args, options):
    import datasets

    prompts = [f"say {w}" for w in "abcdefghij"]
    ds = datasets.Dataset.from_dict({"prompt": prompts, "target": ["a"] * len(prompts)})
    return datasets.DatasetDict(train=ds.select(range(8)), eval=ds.select(range(8, 10)))


def share_of_a(result, context):
    """A task metric computed from the evaluation rows and the task's own options."""
    return {"eval/share_a": sum(r["completion"].count(context.options.letter) for r in result.rows) / 2}


@pytest.fixture
def toy_task():
    from dataclasses import dataclass

    from conftest import CountToken

    @dataclass
    class ToyOptions:
        letter: str = "a"

    return Task(
        name="toy",
        title="toy task",
        load_data=toy_data,
        rewards={"count_a": lambda tokenizer: CountToken(tokenizer.convert_tokens_to_ids("a"))},
        default_reward=("count_a",),
        metrics=share_of_a,
        reference=lambda row: row["target"],
        options=ToyOptions,
    )


def test_a_task_defined_here_runs_through_the_runner(toy_task, tiny_chat_model, tmp_path):
    out = tmp_path / "run"
    flags = ["--model_name_or_path", str(tiny_chat_model), *TINY, "--output_dir", str(out)]
    args, config, options = parse_args(PPOConfig, flags, extra=(toy_task.options,))
    result = run_task(toy_task, args, config, options)
    assert set(result["after"]) >= {"eval/reward", "eval/kl", "eval/share_a"}
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["rewards"] == ["count_a x1"] and evaluation["mode"] == "rl"
    assert json.loads((out / "run.json").read_text())["task"] == "toy"
    assert json.loads((out / "config.json").read_text())["reward_specs"] == ["count_a x1"]
    assert "## Rewards\n\n- `count_a x1`" in (out / "README.md").read_text()
    # Nothing is lost: the same folder again refuses, naming the ways forward, before any model loads.
    with pytest.raises(
        ValueError, match=r"already holds a run .*--resume_from_checkpoint latest.*--overwrite_output_dir"
    ):
        run_task(toy_task, args, config, options)
    before = (out / "eval.json").read_text()
    assert (out / "eval.json").read_text() == before
    args.overwrite_output_dir = True
    run_task(toy_task, args, config, options)


def test_eval_steps_logs_held_out_task_metrics_like_the_final_evaluation(toy_task, tiny_chat_model, tmp_path):
    out = tmp_path / "run"
    flags = ["--model_name_or_path", str(tiny_chat_model), *TINY, "--output_dir", str(out)]
    flags += ["--max_steps", "2", "--eval_steps", "1", "--eval_temperature", "1.0"]
    args, config, options = parse_args(PPOConfig, flags, extra=(toy_task.options,))
    result = run_task(toy_task, args, config, options)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [line for line in lines if "step" in line]
    assert [line["step"] for line in steps if "eval/share_a" in line] == [1, 2]
    # The last step's held-out evaluation is the final one: same items, temperature and seeds.
    for key in ("eval/share_a", "eval/reward"):
        assert steps[-1][key] == pytest.approx(result["after"][key])


def test_robustness_flags_noise_training_not_evaluation(toy_task, tiny_chat_model, tmp_path, monkeypatch):
    """--reward_noise/--reward_flip wrap the training reward (evaluation stays clean); --prompt_noise
    corrupts the training prompts only, --eval_prompt_noise the held-out ones."""
    from rlreward.cli import runner
    from rlreward.rewards.shaping import NoisyReward

    seen = {}
    real = runner.HeldOutMetrics

    def spy(task, rewards, options, temperature):
        seen["rewards"] = rewards
        return real(task, rewards, options, temperature)

    clean_dir, noisy_dir = tmp_path / "clean", tmp_path / "noisy"
    base = ["--model_name_or_path", str(tiny_chat_model), *TINY]
    args, config, options = parse_args(
        PPOConfig, [*base, "--output_dir", str(clean_dir)], extra=(toy_task.options,)
    )
    clean = run_task(toy_task, args, config, options)
    flags = [*base, "--output_dir", str(noisy_dir), "--reward_noise", "0.5", "--reward_flip", "0.3"]
    flags += ["--prompt_noise", "0.5"]
    args, config, options = parse_args(PPOConfig, flags, extra=(toy_task.options,))
    monkeypatch.setattr(runner, "HeldOutMetrics", spy)
    noisy = run_task(toy_task, args, config, options)
    assert all(isinstance(r, NoisyReward) and r.sigma == 0.5 and r.flip == 0.3 for r in seen["rewards"])
    assert seen["rewards"][0].calls >= 1  # training scored through the noise
    # The base policy's evaluation is the same: held-out prompts and rewards are clean.
    assert noisy["before"] == clean["before"]
    held_out = [
        json.loads(line)["prompt"] for line in (noisy_dir / "samples_before.jsonl").read_text().splitlines()
    ]
    assert held_out == ["say i", "say j"]
    # Training prompts are corrupted (the same for every seed), held-out ones only when asked.
    data = toy_data(None, None)
    train, held = (
        runner.robustness_prompts(args, data["train"]),
        runner.robustness_prompts(args, data["eval"], True),
    )
    assert train["prompt"] != data["train"]["prompt"] and held["prompt"] == data["eval"]["prompt"]
    args.eval_prompt_noise = 1.0
    assert runner.robustness_prompts(args, data["eval"], held_out=True)["prompt"] != data["eval"]["prompt"]


def test_corrupt_text_drops_and_misspells_about_the_rate_deterministically():
    from rlreward.data.noise import corrupt_prompts, corrupt_text, lengthen_prompts

    text = " ".join(["sentence"] * 2000)
    noisy = corrupt_text(text, 0.2, seed=3)
    assert noisy == corrupt_text(text, 0.2, seed=3) != corrupt_text(text, 0.2, seed=4)
    assert corrupt_text(text, 0.0) == text
    words = noisy.split(" ")
    dropped = 2000 - len(words)
    misspelt = sum(w != "sentence" for w in words)
    assert 0.2 * 2000 / 3 * 0.8 < dropped < 0.2 * 2000 / 3 * 1.2  # a third of the noisy words dropped
    assert 0.2 * 2000 * 2 / 3 * 0.8 < misspelt < 0.2 * 2000 * 2 / 3 * 1.2
    assert all(abs(len(w) - len("sentence")) <= 1 for w in words)  # one typo per word
    import datasets

    ds = datasets.Dataset.from_dict({"prompt": [f"row {i} has several words in it" for i in range(6)]})
    rows = corrupt_prompts(ds, 0.5, seed=0)["prompt"]
    assert rows != ds["prompt"] and rows == corrupt_prompts(ds, 0.5, seed=0)["prompt"]
    chat = datasets.Dataset.from_dict(
        {
            "messages": [
                [
                    {"role": "system", "content": "be brief and kind"},
                    {"role": "user", "content": "tell me a joke"},
                ]
            ]
        }
    )
    turns = corrupt_prompts(chat, 1.0)["messages"][0]
    assert turns[0]["content"] == "be brief and kind" and turns[1]["content"] != "tell me a joke"
    assert corrupt_text("a b c", 1.0) == "c"
    longer = lengthen_prompts(ds, 3, seed=0)["prompt"]
    assert all(p.count("\n") == 2 and p.endswith(ds["prompt"][i]) for i, p in enumerate(longer))
    assert all(ds["prompt"][i] not in p.split("\n")[:2] for i, p in enumerate(longer))


def test_paired_differences_are_the_mean_change_with_a_bootstrap_interval():
    from rlreward.cli.runner import paired_differences

    before = {"eval/m": [0.0, 0.0, 1.0, 0.0], "eval/only_before": [1.0]}
    after = {"eval/m": [1.0, 1.0, 1.0, 1.0], "eval/new": [2.0]}
    paired = paired_differences(before, after)
    assert set(paired) == {"eval/m"}
    assert paired["eval/m"]["diff"] == pytest.approx(0.75) and paired["eval/m"]["items"] == 4
    assert 0.0 <= paired["eval/m"]["ci_low"] <= 0.75 <= paired["eval/m"]["ci_high"] <= 1.0
    constant = paired_differences({"eval/m": [0.0, 1.0]}, {"eval/m": [0.5, 1.5]})["eval/m"]
    assert constant["ci_low"] == pytest.approx(0.5) and constant["ci_high"] == pytest.approx(0.5)
    assert paired_differences(None, after) is None


def test_resume_with_another_config_is_refused(toy_task, tmp_path):
    from rlreward.cli.runner import check_output_dir

    out = tmp_path / "run"
    out.mkdir()
    saved = PPOConfig(output_dir=str(out), seed=0)
    (out / "config.json").write_text(json.dumps(saved.to_dict()))
    args = ScriptArguments()
    check_output_dir(
        args, PPOConfig(output_dir=str(out), seed=0, resume_from_checkpoint="latest", max_steps=500)
    )
    with pytest.raises(ValueError, match=r"another config \(seed: 0 -> 1\)"):
        check_output_dir(args, PPOConfig(output_dir=str(out), seed=1, resume_from_checkpoint="latest"))


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    """Bad input at the command line: `error: ...`, exit 2, no traceback; --debug shows it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    recipe = str(RECIPES / "ppo_qa.py")
    cases = {
        ("--learning_rate", "-1"): "learning_rate",
        ("--lerning_rate", "1"): "Did you mean '--learning_rate'",
        ("--dataset", str(tmp_path / "missing.jsonl")): "is not an existing file",
        (
            "--model_name_or_path",
            "nobody/no-such-model",
            "--output_dir",
            str(tmp_path / "o"),
        ): "the Hub cannot be reached from here",
    }
    for flags, expected in cases.items():
        done = subprocess.run(
            [sys.executable, recipe, *flags],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 2, (flags, done.stderr[-2000:])
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr, (flags, done.stderr)
        assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1, (flags, done.stderr)
    done = subprocess.run(
        [sys.executable, recipe, "--lerning_rate", "1", "--debug"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1 and "Traceback" in done.stderr


def test_readme_launch_shows_a_bad_flag_without_the_launcher_traceback(tmp_path):
    """`accelerate launch -q` (the README's command): the recipe's error line, no launcher traceback."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "-q", str(RECIPES / "ppo_sentiment.py")]
    done = subprocess.run([*launch, "--max_step", "3"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "error: unknown flag --max_step. Did you mean '--max_steps'?" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_resume_without_a_checkpoint_does_not_erase_the_run(tmp_path):
    from rlreward.cli.runner import check_output_dir

    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"step": 1}\n')
    config = PPOConfig(output_dir=str(out), resume_from_checkpoint="latest")
    with pytest.raises(ValueError, match="no checkpoint to resume from"):
        check_output_dir(ScriptArguments(), config)
    assert (out / "metrics.jsonl").read_text() == '{"step": 1}\n'


# Bad input at the recipe command line, in-process (the subprocess test above covers the real CLI).
BAD_INPUTS = {
    "negative learning rate": (["--learning_rate", "-1"], "learning_rate must be positive"),
    "unknown flag": (["--max_step", "3"], "unknown flag --max_step. Did you mean '--max_steps'?"),
    "flag of another recipe": (["--language", "fr"], "unknown flag --language"),
    "missing --config": (["--config", "nope.yaml"], "--config 'nope.yaml' is not a file"),
    "missing dataset file": (["--dataset", "nope.jsonl"], "'nope.jsonl' is not an existing file"),
    "wrong dataset column": (
        ["--dataset", "{rows}", "--dataset_column", "question"],
        "--dataset_column <name>",
    ),
    "eval_size larger than the data": (
        ["--dataset", "{rows}", "--eval_size", "12"],
        "leaves no training rows",
    ),
    "eval_size 0": (["--eval_size", "0"], "--eval_size 0 leaves nothing to evaluate"),
    "mini batch not dividing the batch": (
        ["--mini_batch_size", "5"],
        "must be a multiple of mini_batch_size",
    ),
    "unknown densify": (["--densify", "sparse"], "densify='sparse' is not a strategy"),
    "unknown reward": (["--reward", "vadr"], "Did you mean 'vader'?"),
    "bad reward import": (["--reward", "no_such_pkg_xyz:fn"], "PYTHONPATH=."),
    "weights without rewards": (["--reward_weights", "1", "2"], "give one weight per reward"),
    "eval_only with sft": (["--eval_only", "true", "--sft_baseline", "true"], "exclude each other"),
    "sft without references": (["--sft_baseline", "true"], "no reference outputs"),
    "unknown model": (["--model_name_or_path", "no-such-model-xyz"], "not a registry name"),
    "missing checkpoint": (["--resume_from_checkpoint", "{tmp}/nope"], "is not a checkpoint folder"),
    "negative reward noise": (["--reward_noise", "-0.1"], "--reward_noise -0.1 must be >= 0"),
    "flip share above 1": (["--reward_flip", "1.5"], "--reward_flip 1.5 must be a share"),
    "unknown flip mode": (["--reward_flip_mode", "invert"], "pass sign or label"),
    "prompt noise above 1": (["--prompt_noise", "2"], "--prompt_noise 2.0 must be a share of words"),
    "length factor 0": (["--prompt_length_factor", "0"], "must be a whole number >= 1"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_fix(case, tmp_path, capsys, monkeypatch):
    from rlreward.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"text": f"review {i}"}) + "\n" for i in range(12)))
    flags, expected = BAD_INPUTS[case]
    flags = [f.format(rows=rows, tmp=tmp_path) for f in flags]
    with pytest.raises(SystemExit) as caught:
        main(get_task("sentiment"), RECIPES / "configs" / "ppo_sentiment.yaml", argv=flags)
    err = capsys.readouterr().err
    assert caught.value.code == 2, err
    assert err.startswith("error: ") and expected in err, err
    assert len(err.strip().splitlines()) == 1, err
