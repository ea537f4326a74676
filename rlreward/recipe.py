"""What every recipe shares: argument parsing, reward specs, before/after evaluation and the report.

A recipe (``recipes/ppo_<task>.py``) names its data, its built-in rewards and its task metrics, then
calls :func:`run`. Everything else, including the output folder's layout, is here:

    <output_dir>/
      adapter_config.json, adapter_model.safetensors, value_head.safetensors, tokenizer files, README.md
      metrics.jsonl        one line per training step
      eval.json            before/after metrics
      report.md            the before/after table and sample completions
      training.png         reward and KL over steps
      samples_before.jsonl, samples_after.jsonl
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlreward.rewards.base import InstantReward, as_instant
from rlreward.trainers import PPOConfig, PPOTrainer
from rlreward.trainers.base import EvalResult

RewardFactory = Callable[[Any], Any]  # policy tokenizer -> reward
# (folder or Hub id, policy tokenizer, label) -> reward
ClassifierFactory = Callable[[str, Any, "int | str"], Any]


@dataclass
class ScriptArguments:
    """What a recipe trains on and with which reward."""

    model_name_or_path: str = field(
        default="smollm2-135m-instruct",
        metadata={"help": "Policy: an rlreward model name, a local folder or a Hub id."},
    )
    dataset: str | None = field(
        default=None,
        metadata={"help": "Prompts: None for the task's built-in data, a local file or a Hub dataset."},
    )
    dataset_column: str | None = field(
        default=None, metadata={"help": "Column of --dataset holding the text (task default when None)."}
    )
    reference_column: str | None = field(
        default=None,
        metadata={
            "help": "Column of --dataset holding what a completion is checked against: gold answers, "
            "reference translation or reply, unit tests (task default when None)."
        },
    )
    reward: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Rewards, repeatable: a built-in name, a sequence-classifier folder or Hub id, or "
            "package.module:callable. Empty: the task's default."
        },
    )
    reward_weights: list[float] | None = field(default=None, metadata={"help": "One weight per --reward."})
    reward_label: str | None = field(
        default=None, metadata={"help": "Classifier rewards: the label (index or name) to reward."}
    )
    dtype: str = field(
        default="auto",
        metadata={"help": "Base weights: auto (bf16 on CUDA, else fp32), float32 or bfloat16."},
    )
    eval_size: int = field(
        default=64, metadata={"help": "Held-out prompts evaluated before and after training."}
    )
    eval_temperature: float | None = field(
        default=None,
        metadata={"help": "Sampling temperature for evaluation (None: the training temperature)."},
    )
    skip_eval_before: bool = field(default=False, metadata={"help": "Skip the evaluation of the base model."})
    eval_only: bool = field(
        default=False,
        metadata={
            "help": "Evaluate without training: the base model, or a saved adapter with --init_adapter <folder>."
        },
    )
    sft_baseline: bool = field(
        default=False,
        metadata={
            "help": "Instead of RL, fine-tune the adapter with TRL's SFTTrainer on the training rows' reference "
            "outputs (max_steps x batch_size examples, as many as the completions RL would generate), then "
            "evaluate and report the same way. One process; recipes with reference outputs only."
        },
    )


def merge_repeated_flags(argv: Sequence[str], flags: Sequence[str]) -> list[str]:
    """``--reward a --reward b`` -> ``--reward a b`` (argparse's ``nargs='+'`` keeps only the last)."""
    merged: dict[str, list[str]] = {}
    rest: list[str] = []
    i = 0
    argv = list(argv)
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in flags:
            values = [arg.split("=", 1)[1]] if "=" in arg else []
            i += 1
            while "=" not in arg and i < len(argv) and not argv[i].startswith("--"):
                values.append(argv[i])
                i += 1
            merged.setdefault(name, []).extend(values)
            continue
        rest.append(arg)
        i += 1
    for name, values in merged.items():
        rest += [name, *values]
    return rest


def cpu_processes_requested(parent_argv: Sequence[str], env: dict[str, str]) -> int:
    """N of ``accelerate launch --cpu --num_processes N`` when that started this script as a single process.

    Without MPI (``--mpirun_hostfile``), accelerate 1.x runs ``--cpu --num_processes N`` as one plain
    process. ``parent_argv`` is the command line of this process's parent; 1 when nothing is missing.
    """
    if "WORLD_SIZE" in env or env.get("ACCELERATE_USE_CPU", "").lower() not in ("1", "true", "yes"):
        return 1
    args = list(parent_argv)
    if not any("accelerate" in a for a in args[:3]) or "launch" not in " ".join(args[:4]):
        return 1
    script = next((i for i, a in enumerate(args) if a.endswith(".py") and "accelerate" not in a), len(args))
    launcher = args[:script]  # the script's own flags come after it
    if "--cpu" not in launcher or any(a.startswith("--mpirun_hostfile") for a in launcher):
        return 1
    for i, a in enumerate(launcher):
        value = a.split("=", 1)[1] if a.startswith("--num_processes=") else None
        if a == "--num_processes" and i + 1 < len(launcher):
            value = launcher[i + 1]
        if value is not None and value.isdigit():
            return int(value)
    return 1


def relaunch_cpu_processes() -> None:
    """Make ``accelerate launch --cpu --num_processes N script.py`` start N processes (gloo).

    When accelerate started one process for it (it needs MPI for more), replace this process with
    ``torch.distributed.run --standalone --nproc_per_node N`` running the same command line.
    """
    try:
        parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().decode().split("\0")
    except OSError:  # not Linux
        return
    n = cpu_processes_requested(parent, dict(os.environ))
    if n > 1:
        print(
            f"accelerate launch --cpu starts one process without MPI; starting {n} CPU processes with "
            "torch.distributed.run (gloo) instead.",
            file=sys.stderr,
            flush=True,
        )
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n)]
        os.execv(sys.executable, command + [sys.argv[0], *sys.argv[1:]])


def parse_args(
    config_class=PPOConfig,
    argv: Sequence[str] | None = None,
    defaults: dict[str, Any] | None = None,
    extra: Sequence[type] = (),
) -> tuple[Any, ...]:
    """Parse into ``(ScriptArguments, config_class, *extra)``: recipe ``defaults``, then ``--config
    file.yaml``, then CLI flags. ``extra`` are a recipe's own argument dataclasses (``--language``...)."""
    from trl import TrlParser

    if argv is None:  # a script's own command line
        relaunch_cpu_processes()
    argv = merge_repeated_flags(sys.argv[1:] if argv is None else argv, ["--reward", "--reward_weights"])
    parser = TrlParser((ScriptArguments, config_class, *extra))
    unknown = parser.set_defaults_with_config(**(defaults or {}))
    if unknown:
        raise ValueError(f"Recipe defaults name unknown fields: {unknown[::2]}.")
    return parser.parse_args_and_config(argv)


def load_reward(
    spec: str,
    tokenizer: Any,
    builtins: dict[str, RewardFactory],
    label: str | None = None,
    classifier: ClassifierFactory | None = None,
) -> Any:
    """Turn one ``--reward`` spec into a reward object.

    Forms, tried in order: a built-in name; ``package.module:callable`` (a TRL-style function, an
    InstantReward instance, or a class/factory called with no arguments or with ``tokenizer=``);
    a local folder or Hub id of a sequence classifier (``label`` picks the class), built by
    ``classifier(spec, tokenizer, label)`` when a recipe needs more than a plain ``ClassifierReward``.
    """
    if spec in builtins:
        return builtins[spec](tokenizer)
    if ":" in spec and not os.path.exists(spec):
        module_name, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(
                f"--reward {spec!r}: could not import {attr!r} from module {module_name!r} ({err}); check the "
                "module is importable (on PYTHONPATH) and the name after ':' exists."
            ) from err
        if isinstance(obj, type):
            obj = _call_with_tokenizer(obj, tokenizer)
        return obj
    known = ", ".join(sorted(builtins))
    if not os.path.exists(spec) and not _looks_like_hub_id(spec):  # fail now, not after Hub retries
        close = difflib.get_close_matches(spec, list(builtins), n=1)
        raise ValueError(
            f"--reward {spec!r} is not a built-in ({known}), an existing folder, package.module:callable, "
            f"or a Hub id (org/name).{f' Did you mean {close[0]!r}?' if close else ''}"
        )
    label_value: int | str = int(label) if label is not None and label.isdigit() else (label or 0)
    try:
        return (classifier or _classifier_reward)(spec, tokenizer, label_value)
    except Exception as err:
        raise ValueError(
            f"--reward {spec!r} is not a built-in ({known}), not package.module:callable, and could not be "
            f"loaded as a sequence classifier ({type(err).__name__}: {err})."
        ) from err


def _looks_like_hub_id(spec: str) -> bool:
    """``org/name``, where ``org`` is not a local folder (``outputs/missing_model`` is a missing path)."""
    org = spec.split("/", 1)[0]
    return bool(re.fullmatch(r"[\w.-]+/[\w.-]+", spec)) and not org.startswith(".") and not os.path.isdir(org)


def _classifier_reward(spec: str, tokenizer: Any, label: int | str) -> Any:
    from rlreward.rewards.classifier import ClassifierReward

    return ClassifierReward(spec, label=label, policy_tokenizer=tokenizer)


def _call_with_tokenizer(factory: type, tokenizer: Any) -> Any:
    try:
        return factory(tokenizer=tokenizer)
    except TypeError:
        return factory()


def build_reward(
    args: ScriptArguments,
    tokenizer: Any,
    builtins: dict[str, RewardFactory],
    default: Sequence[str],
    default_weights: Sequence[float] | None = None,
    classifier: ClassifierFactory | None = None,
) -> tuple[list[InstantReward], list[float] | None]:
    """The rewards and weights of a run: ``--reward`` / ``--reward_weights``, else the recipe's defaults.

    ``--reward_weights`` alone re-weights the default rewards; ``--reward`` alone takes equal weights.
    """
    specs = args.reward or list(default)
    weights = args.reward_weights
    if weights is None and not args.reward and default_weights is not None:
        weights = list(default_weights)
    if weights is not None and len(weights) != len(specs):
        raise ValueError(
            f"Got {len(weights)} --reward_weights for {len(specs)} --reward ({', '.join(specs)}); give one "
            "weight per reward."
        )
    rewards = [as_instant(load_reward(s, tokenizer, builtins, args.reward_label, classifier)) for s in specs]
    return rewards, weights


# ---------------------------------------------------------------------------- users' own data
def load_own_dataset(args: ScriptArguments, task: str, reference: tuple[str, str] | None = None) -> Any:
    """``--dataset`` (a local file or Hub dataset) as ``{"train", "eval"}`` in the task's columns.

    ``--dataset_column`` (default ``prompt``) becomes ``prompt`` (a chat column becomes ``messages``
    plus its last user text); with ``reference=(name, default)``, ``--reference_column`` (default
    ``default``) becomes the column ``name`` the reward reads. ``--eval_size`` rows (seeded shuffle) are
    held out.
    """
    from rlreward.data.base import load_table, to_prompt_column, train_eval_split, validate_columns

    ds = to_prompt_column(load_table(args.dataset), args.dataset_column or "prompt", task)
    if reference is not None:
        name, default = reference
        column = args.reference_column or default
        fix = f"pass the column that holds the {name} with --reference_column <name>"
        validate_columns(ds, [column], task, {column: fix})
        if column != name:
            ds = ds.remove_columns([name]) if name in ds.column_names else ds
            ds = ds.rename_column(column, name)
    return train_eval_split(ds, args.eval_size, seed=0)


# ---------------------------------------------------------------------------- task metrics from eval rows
def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else float("nan")


def answer_metrics(result: EvalResult, answers_column: str = "answers") -> dict[str, float]:
    """SQuAD exact match and token F1 (0-1) of each completion against its row's gold answers."""
    from rlreward.rewards.metrics import exact_match, token_f1

    rows = result.rows
    return {
        "eval/exact_match": _mean([exact_match(r["completion"], r[answers_column]) for r in rows]),
        "eval/token_f1": _mean([token_f1(r["completion"], r[answers_column]) for r in rows]),
    }


def reference_metrics(
    result: EvalResult, reference_column: str = "reference", bleu: bool = True
) -> dict[str, float]:
    """Corpus chrF (and BLEU), sacrebleu's 0-100 scale, of the completions against their references."""
    from rlreward.rewards.metrics import corpus_bleu, corpus_chrf

    hyps = [r["completion"] for r in result.rows]
    refs = [r[reference_column] for r in result.rows]
    metrics = {"eval/chrf": corpus_chrf(hyps, refs)}
    if bleu:
        metrics["eval/bleu"] = corpus_bleu(hyps, refs)
    return metrics


def code_preamble(prompt: str, entry_point: str) -> str:
    """What a code prompt defines before ``def <entry_point>(`` (imports, helpers); '' when nothing."""
    match = re.search(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(entry_point)}[ \t]*\(", prompt, re.M)
    return prompt[: match.start()] if match else ""


def pass_at_1(rows: Sequence[dict[str, Any]], tests_column: str = "tests") -> float:
    """Share of rows whose completion passes every unit test: pass@1 with one completion per problem.

    The code is the completion's fenced block that defines the entry point (or the whole completion),
    run after the prompt's preamble (HumanEval prompts import ``List`` and define helpers there, and
    chat models rarely repeat them), in the sandbox of :class:`~rlreward.rewards.code.UnitTestReward`.
    """
    from rlreward.rewards.code import UnitTestReward, extract_code

    if not rows:
        return float("nan")
    programs = []
    for r in rows:
        entry = r.get("entry_point")
        preamble = code_preamble(str(r["prompt"]), entry) if entry else ""
        programs.append(preamble + extract_code(r["completion"], entry)[0])
    reward = UnitTestReward(per_token=None, syntax_weight=0.0)
    out = reward.score(
        [""] * len(rows),
        programs,
        [[0]] * len(rows),
        tests=[r[tests_column] for r in rows],
        entry_point=[r.get("entry_point") for r in rows],
    )
    return float((out.components["tests_passed"] == 1.0).float().mean())


# ---------------------------------------------------------------------------- reporting
def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def comparison_table(before: dict[str, float] | None, after: dict[str, float]) -> str:
    """Markdown table: metric | before | after | change."""
    lines = ["| metric | before | after | change |", "|---|---|---|---|"]
    for key, value in after.items():
        old = before.get(key) if before else None
        change = f"{value - old:+.4f}" if isinstance(old, float) and isinstance(value, float) else ""
        lines.append(f"| {key} | {_fmt(old) if old is not None else ''} | {_fmt(value)} | {change} |")
    return "\n".join(lines)


def samples_table(before: EvalResult | None, after: EvalResult, n: int = 6) -> str:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")[:160]

    lines = ["| prompt | before | after |", "|---|---|---|"]
    for i, row in enumerate(after.rows[:n]):
        old = before.rows[i] if before else None
        old_text = f"{cell(old['completion'])} ({old['reward']:+.2f})" if old else ""
        lines.append(
            f"| {cell(row['prompt'])} | {old_text} | {cell(row['completion'])} ({row['reward']:+.2f}) |"
        )
    return "\n".join(lines)


def plot_training(history: list[dict[str, float]], path: Path, title: str) -> None:
    """Reward and KL over steps, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(steps, [h["rewards/mean"] for h in history])
    ax1.set(xlabel="step", ylabel="mean reward", title="reward")
    ax2.plot(steps, [h["objective/kl"] for h in history], color="tab:red")
    ax2.set(xlabel="step", ylabel="KL to reference (nats / completion)", title="KL")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def task_metrics(
    result: EvalResult, extra: Callable[[EvalResult], dict[str, float]] | None
) -> dict[str, float]:
    return {**result.metrics, **(extra(result) if extra else {})}


def run(
    args: ScriptArguments,
    config: PPOConfig,
    datasets: Any,
    builtins: dict[str, RewardFactory],
    default_reward: Sequence[str],
    extra_metrics: Callable[[EvalResult], dict[str, float]] | None = None,
    title: str = "rlreward",
    trainer_class: type = PPOTrainer,
    *,
    default_weights: Sequence[float] | None = None,
    classifier: ClassifierFactory | None = None,
    extra_eval: Callable[[Any, float], dict[str, float]] | None = None,
    reference: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """Evaluate the base policy, train, evaluate again, save and report. Returns the before/after metrics.

    Args:
        args, config: parsed by :func:`parse_args`.
        datasets: ``{"train": ..., "eval": ...}``; the first ``args.eval_size`` eval rows are held out.
        builtins: the recipe's reward names -> ``factory(policy_tokenizer)``.
        default_reward, default_weights: the rewards (and weights) used when no ``--reward`` is given.
        extra_metrics: task metrics computed from an evaluation's rows (exact match, chrF, pass@1...).
        title: the report's title.
        trainer_class: :class:`PPOTrainer` or :class:`ReinforceTrainer`.
        classifier: builds classifier ``--reward`` specs (see :func:`load_reward`).
        extra_eval: ``(trainer, temperature) -> metrics`` on data other than the held-out rows (e.g.
            HumanEval), run with every evaluation; its metrics join the table.
        reference: a training row -> the output SFT imitates (``--sft_baseline``); ``None`` when the task
            has no reference outputs.
    """
    from rlreward.models import load_causal_lm, resolve_dtype

    _check_modes(args, reference)
    t0 = time.perf_counter()
    model, tokenizer = load_causal_lm(args.model_name_or_path, dtype=resolve_dtype(args.dtype))
    rewards, weights = build_reward(args, tokenizer, builtins, default_reward, default_weights, classifier)
    train, held_out = datasets["train"], datasets["eval"]
    held_out = held_out.select(range(min(args.eval_size, len(held_out))))
    trainer = trainer_class(model, rewards, train, config, tokenizer=tokenizer, reward_weights=weights)
    acc = trainer.accelerator
    temperature = args.eval_temperature if args.eval_temperature is not None else config.temperature

    def evaluate() -> tuple[EvalResult, dict[str, float]]:
        result = trainer.evaluate(held_out, temperature=temperature)
        metrics = task_metrics(result, extra_metrics)
        return result, {**metrics, **(extra_eval(trainer, temperature) if extra_eval else {})}

    skip_before = args.skip_eval_before or args.eval_only
    before, before_metrics = (None, None) if skip_before else evaluate()
    if args.eval_only:
        history = []
    elif args.sft_baseline:
        history = _sft_baseline(trainer, train, reference, config)
    else:
        history = trainer.train()
    after, after_metrics = evaluate()
    out = Path(config.output_dir)
    if not args.eval_only:
        trainer.save_model(out, final_metrics=after_metrics)  # every process: it synchronises them
    if acc.is_main_process:
        _write_report(
            out,
            title,
            args,
            before,
            after,
            before_metrics,
            after_metrics,
            history,
            time.perf_counter() - t0,
            {
                "samples": 0 if args.eval_only else config.max_steps * config.batch_size,  # RL: generated
                "processes": acc.num_processes,
            },
        )

    return {"before": before_metrics, "after": after_metrics}


def _check_modes(args: ScriptArguments, reference: Callable | None) -> None:
    if args.eval_only and args.sft_baseline:
        raise ValueError("--eval_only and --sft_baseline exclude each other; pass one.")
    if args.sft_baseline and reference is None:
        raise ValueError("--sft_baseline: this task has no reference outputs to fine-tune on; drop the flag.")
    if args.sft_baseline and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "--sft_baseline runs on one process; launch it with python, not accelerate --num_processes."
        )


def _sft_baseline(trainer: Any, train: Any, reference: Callable, config: PPOConfig) -> list[dict[str, float]]:
    """Fine-tune the trainer's (fresh or ``init_adapter``) LoRA adapter on reference outputs, in place."""
    from rlreward.trainers.sft import reference_examples, train_sft

    examples = reference_examples(trainer.tokenizer, train, reference, config, trainer.eos_token_ids[0])
    policy = trainer.accelerator.unwrap_model(trainer.actor_critic).policy
    _, log = train_sft(policy, trainer.tokenizer, examples, Path(config.output_dir) / "sft", config)
    return [{"step": h["step"], "sft/loss": h["loss"]} for h in log if "loss" in h and "step" in h]


def _write_report(
    out, title, args, before, after, before_metrics, after_metrics, history, seconds, meta
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    mode = "eval_only" if args.eval_only else "sft_baseline" if args.sft_baseline else "rl"
    summary = {
        "before": before_metrics,
        "after": after_metrics,
        "mode": mode,
        "seconds": seconds,
        **meta,
    }
    (out / "eval.json").write_text(json.dumps(summary, indent=2))
    for name, result in (("before", before), ("after", after)):
        if result is not None:
            with open(out / f"samples_{name}.jsonl", "w") as f:
                for row in result.rows:
                    f.write(json.dumps(row, default=str) + "\n")
    if history and "rewards/mean" in history[0]:
        plot_training(history, out / "training.png", title)
    table = comparison_table(before_metrics, after_metrics)
    report = (
        f"# {title}\n\nPolicy `{args.model_name_or_path}`, {mode}, {len(history)} steps, {seconds / 60:.1f} min."
        "\n\n"
        f"## Held-out evaluation\n\n{table}\n\n## Samples (same prompts and seeds)\n\n{samples_table(before, after)}\n"
    )
    (out / "report.md").write_text(report)
    print("\n" + table + "\n")
    print(
        f"Adapter, metrics and plot are in {out}/ (report.md, metrics.jsonl, training.png).\n"
        'Load it: python -c "from peft import AutoPeftModelForCausalLM; from transformers import AutoTokenizer; '
        f"m = AutoPeftModelForCausalLM.from_pretrained('{out}'); t = AutoTokenizer.from_pretrained('{out}'); "
        "print(t.decode(m.generate(**t('The film was', return_tensors='pt'), max_new_tokens=30)[0]))\""
    )
