"""The generic runner: evaluate the base policy, train, evaluate again, save and report, for any task.

A recipe calls :func:`main` with its :class:`~rlreward.tasks.base.Task` and its YAML; nothing here names
a task. The output folder's layout:

    <output_dir>/
      adapter_config.json, adapter_model.safetensors, value_head.safetensors, tokenizer files, README.md
      config.json          the trainer's config;  run.json: the recipe's arguments and reward specs
      metrics.jsonl        one line per training step
      eval.json            before/after metrics
      report.md            the before/after table and sample completions
      training.png         reward and KL over steps
      samples_before.jsonl, samples_after.jsonl

At the command line every error is one line, ``error: <what and the fix>``, exit status 2; ``--debug``
(or ``RLREWARD_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlreward.cli.args import ScriptArguments, parse_args
from rlreward.cli.launch import choose_threads, relaunch_cpu_processes
from rlreward.cli.report import write_report
from rlreward.cli.reward_specs import build_reward, check_rewards, describe_rewards
from rlreward.tasks.base import EvalContext, Task

RUN_FILES = ("eval.json", "metrics.jsonl", "report.md", "adapter_config.json", "run.json")
# Config fields a resumed run may change without changing what it computes.
RESUMABLE_CHANGES = {
    "resume_from_checkpoint",
    "max_steps",
    "output_dir",
    "progress_bar",
    "logging_steps",
    "sample_steps",
    "save_steps",
    "save_total_limit",
    "report_to",
    "eval_steps",
}


def main(
    task: Task,
    default_config: str | Path | None = None,
    trainer_class: type | None = None,
    config_class: type | None = None,
    argv: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A recipe's entry point: parse (``default_config`` YAML, then flags), run, and turn any error into
    one line on stderr with exit status 2. The trainer defaults to PPO with :class:`PPOConfig`."""
    from rlreward.trainers import PPOConfig, PPOTrainer

    trainer_class = trainer_class or PPOTrainer
    config_class = config_class or PPOConfig
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw or os.environ.get("RLREWARD_DEBUG", "") not in ("", "0")
    try:
        if argv is None:
            relaunch_cpu_processes()
        extra = (task.options,) if task.options else ()
        args, config, *rest = parse_args(config_class, raw, default_config, extra)
        return run_task(task, args, config, rest[0] if rest else None, trainer_class)
    except KeyboardInterrupt:
        print(
            "interrupted; continue with --resume_from_checkpoint latest (the run's checkpoints are kept).",
            file=sys.stderr,
        )
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:
        if debug:
            raise
        print(f"error: {error_line(err)}", file=sys.stderr)
        sys.exit(2)


def error_line(err: BaseException) -> str:
    """One line for a person: our messages as they are; others with their type and first line."""
    from rlreward.data.base import DataError
    from rlreward.rewards.base import RewardError

    text = " ".join(str(err).split()) or type(err).__name__
    ours = isinstance(err, (ValueError, DataError, RewardError, FileNotFoundError)) and type(
        err
    ).__module__ in (
        "builtins",
        "rlreward.data.base",
        "rlreward.rewards.base",
        "rlreward.models.cache",
    )
    line = text if ours else f"{type(err).__name__}: {text}"
    if len(line) > 600:
        line = line[:600] + " ..."
    return line + ("" if ours else " (--debug shows the traceback)")


def check_output_dir(args: ScriptArguments, config: Any) -> None:
    """Refuse to write over another run; with ``--overwrite_output_dir`` clear it; with ``resume`` check
    that the checkpoint's config is this run's."""
    from rlreward.trainers.checkpoint import list_checkpoints, resolve_checkpoint

    out = Path(config.output_dir)
    if config.resume_from_checkpoint and not args.overwrite_output_dir:
        resolve_checkpoint(
            out, config.resume_from_checkpoint
        )  # a named folder that is no checkpoint fails now
    if not out.is_dir():
        return
    checkpoints = list_checkpoints(out)
    present = [name for name in RUN_FILES if (out / name).exists()] + [p.name for p in checkpoints[-1:]]
    if args.overwrite_output_dir:
        for path in out.glob("checkpoint-*"):
            shutil.rmtree(path)
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        return
    if config.resume_from_checkpoint and not (args.eval_only or args.sft_baseline):
        if present and resolve_checkpoint(out, config.resume_from_checkpoint) is None:
            raise ValueError(
                f"{out} holds a run ({', '.join(present)}) but no checkpoint to resume from; replace it with "
                "--overwrite_output_dir true, or pass another --output_dir."
            )
        saved = out / "config.json"
        if saved.is_file():
            old = json.loads(saved.read_text())
            new = json.loads(json.dumps(config.to_dict(), default=str))
            changed = sorted(k for k in new if k not in RESUMABLE_CHANGES and old.get(k, new[k]) != new[k])
            if changed:
                diffs = ", ".join(f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in changed[:4])
                raise ValueError(
                    f"--resume_from_checkpoint: {out} was trained with another config ({diffs}); resume "
                    "with the same settings, or start a new run in another --output_dir."
                )
        return
    if present:
        raise ValueError(
            f"{out} already holds a run ({', '.join(present)}); continue it with --resume_from_checkpoint "
            "latest, replace it with --overwrite_output_dir true, or pass another --output_dir."
        )


def _check_modes(args: ScriptArguments, task: Task) -> None:
    if args.eval_only and args.sft_baseline:
        raise ValueError("--eval_only and --sft_baseline exclude each other; pass one.")
    if args.sft_baseline and task.reference is None:
        raise ValueError(
            f"--sft_baseline: the {task.name} task has no reference outputs to fine-tune on; drop the flag."
        )
    if args.sft_baseline and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "--sft_baseline runs on one process; launch it with python, not accelerate --num_processes."
        )
    for flag in ("prompt_noise", "eval_prompt_noise"):
        if not 0 <= getattr(args, flag) <= 1:
            raise ValueError(f"--{flag} {getattr(args, flag)} must be a share of words in [0, 1].")
    if args.prompt_length_factor < 1:
        raise ValueError(f"--prompt_length_factor {args.prompt_length_factor} must be a whole number >= 1.")


def robustness_prompts(args: ScriptArguments, split: Any, held_out: bool = False) -> Any:
    """One split with the robustness flags applied: longer prompts (both splits), typos (training with
    ``--prompt_noise``, held-out with ``--eval_prompt_noise``). The noise does not follow the training
    seed: every seed sees the same prompts."""
    from rlreward.data.noise import corrupt_prompts, lengthen_prompts

    seed = int(held_out)
    split = lengthen_prompts(split, args.prompt_length_factor, seed=seed)
    return corrupt_prompts(split, args.eval_prompt_noise if held_out else args.prompt_noise, seed=seed)


def run_task(
    task: Task, args: ScriptArguments, config: Any, options: Any = None, trainer_class: type | None = None
) -> dict[str, Any]:
    """Evaluate the base policy, train (RL, or SFT with ``--sft_baseline``), evaluate again, save and
    report. Returns ``{"before": metrics | None, "after": metrics}``.

    Args:
        task: what is learnt: data, rewards, metrics, references.
        args, config, options: parsed by :func:`~rlreward.cli.args.parse_args` (``options``: an instance
            of ``task.options``, or None for its defaults).
        trainer_class: :class:`~rlreward.trainers.PPOTrainer` (default) or ``ReinforceTrainer``.
    """
    from rlreward.models import load_causal_lm, resolve_dtype
    from rlreward.trainers import PPOTrainer

    trainer_class = trainer_class or PPOTrainer
    if options is None and task.options is not None:
        options = task.options()
    _check_modes(args, task)
    if task.check is not None:
        task.check(args, options, config)
    check_output_dir(args, config)
    check_rewards(args, task)
    threads = choose_threads(args.num_threads)
    t0 = time.perf_counter()
    datasets = task.load_data(args, options)  # data errors before the model loads
    train, held_out = datasets["train"], datasets["eval"]
    if len(held_out) == 0:
        raise ValueError("--eval_size 0 leaves nothing to evaluate; pass at least 1.")
    held_out = held_out.select(range(min(args.eval_size, len(held_out))))
    train, held_out = robustness_prompts(args, train), robustness_prompts(args, held_out, held_out=True)
    model, tokenizer = load_causal_lm(args.model_name_or_path, dtype=resolve_dtype(args.dtype))
    rewards, weights, specs = build_reward(args, tokenizer, task, seed=config.seed)
    temperature = args.eval_temperature if args.eval_temperature is not None else config.temperature
    curve = HeldOutMetrics(task, rewards, options, temperature)
    trainer = trainer_class(
        model,
        rewards,
        train,
        config,
        tokenizer=tokenizer,
        reward_weights=weights,
        eval_dataset=held_out if config.eval_steps else None,  # held-out curves every eval_steps
        eval_temperature=temperature,
        callbacks=[curve],
    )
    acc = trainer.accelerator
    if acc.is_main_process:
        for line in describe_rewards(specs, rewards, weights, config.densify):
            print(line, file=sys.stderr)
        if threads:
            print(f"torch uses {threads} CPU threads (--num_threads to change).", file=sys.stderr)
    context = EvalContext(trainer, rewards, options, temperature)

    def evaluate() -> tuple[Any, dict[str, float], dict[str, list[float]]]:
        result = trainer.evaluate(held_out, temperature=temperature)
        return result, *task.evaluation(result, context)

    skip_before = args.skip_eval_before or args.eval_only
    before, before_metrics, before_items = (None, None, None) if skip_before else evaluate()
    if args.eval_only:
        history = []
    elif args.sft_baseline:
        history = _sft_baseline(trainer, train, task.reference, config)
    else:
        _say_resume(config)
        history = trainer.train()
    after, after_metrics, after_items = evaluate()
    out = Path(config.output_dir)
    if not args.eval_only:
        trainer.save_model(out, final_metrics=after_metrics)  # every process: it synchronises them
    if acc.is_main_process:
        mode = "eval_only" if args.eval_only else "sft_baseline" if args.sft_baseline else "rl"
        summary = {
            "before": before_metrics,
            "after": after_metrics,
            "mode": mode,
            "seconds": time.perf_counter() - t0,
            "samples": 0 if args.eval_only else config.max_steps * config.batch_size,  # RL: generated
            "processes": acc.num_processes,
            "model": args.model_name_or_path,
            "rewards": [f"{s} x{1.0 if weights is None else weights[i]:g}" for i, s in enumerate(specs)],
            "paired": paired_differences(before_items, after_items),
            # per held-out item, in order: runs on the same items can be paired with one another
            "items": {"before": before_items, "after": after_items},
        }
        out.mkdir(parents=True, exist_ok=True)
        run_record = {"task": task.name, "args": dataclasses.asdict(args), "reward_specs": specs}
        if options is not None:
            run_record["options"] = dataclasses.asdict(options)
        (out / "run.json").write_text(json.dumps(run_record, indent=2, default=str))
        record_rewards(out, summary["rewards"])
        title = f"{task.title} [{', '.join(summary['rewards'])}]"
        write_report(out, title, summary, before, after, history)
    return {"before": before_metrics, "after": after_metrics}


class HeldOutMetrics:
    """Callback: the task's metrics join the trainer's at each ``eval_steps`` evaluation, so that
    ``metrics.jsonl`` holds held-out curves of what the task measures (exact match, chrF, pass@1)."""

    def __init__(self, task: Task, rewards: Sequence[Any], options: Any, temperature: float):
        self.task, self.rewards, self.options, self.temperature = task, rewards, options, temperature

    def on_evaluate(self, trainer: Any, result: Any) -> None:
        context = EvalContext(trainer, self.rewards, self.options, self.temperature)
        result.metrics.update(self.task.evaluation(result, context)[0])


def paired_differences(
    before: dict[str, list[float]] | None, after: dict[str, list[float]]
) -> dict[str, dict[str, float]] | None:
    """Per item metric: the mean after - before over the same held-out items and sampling seeds, with its
    95% paired bootstrap interval (:func:`rlreward.stats.paired_bootstrap_ci`); None without a before."""
    from rlreward.stats import paired_bootstrap_ci

    if before is None:
        return None
    out = {}
    for key, values in after.items():
        if key in before and len(before[key]) == len(values):
            ci = paired_bootstrap_ci(values, before[key])
            out[key] = {"items": len(values), "diff": ci.mean, "ci_low": ci.low, "ci_high": ci.high}
    return out


def record_rewards(out: Path, rewards: list[str]) -> None:
    """Name the run's rewards (``spec xweight``) in its ``config.json`` and its model card, so a reward
    that was wired up wrong shows where people look."""
    config = out / "config.json"
    if config.is_file():
        record = json.loads(config.read_text())
        config.write_text(json.dumps({**record, "reward_specs": rewards}, indent=2, default=str))
    card = out / "README.md"
    if card.is_file():
        lines = "".join(f"- `{r}`\n" for r in rewards)
        card.write_text(card.read_text() + f"\n## Rewards\n\n{lines}")


def _say_resume(config: Any) -> None:
    from rlreward.trainers.checkpoint import resolve_checkpoint

    path = resolve_checkpoint(config.output_dir, config.resume_from_checkpoint)
    if path is not None:
        print(f"resumed from {path.name} (of {config.output_dir})", file=sys.stderr)


def _sft_baseline(trainer: Any, train: Any, reference: Any, config: Any) -> list[dict[str, float]]:
    """Fine-tune the trainer's (fresh or ``init_adapter``) LoRA adapter on reference outputs, in place."""
    from rlreward.trainers.sft import reference_examples, train_sft

    examples = reference_examples(trainer.tokenizer, train, reference, config, trainer.eos_token_ids[0])
    policy = trainer.accelerator.unwrap_model(trainer.actor_critic).policy
    _, log = train_sft(policy, trainer.tokenizer, examples, Path(config.output_dir) / "sft", config)
    return [{"step": h["step"], "sft/loss": h["loss"]} for h in log if "loss" in h and "step" in h]


def run_script(main: Callable[[], Any]) -> None:
    """Run a training script's ``main()`` as a command: bad input (a ``ValueError``, ``DataError`` included,
    or a ``FileNotFoundError``) becomes one ``error: ...`` line on stderr and exit status 2, with no
    traceback unless ``RLREWARD_DEBUG`` is set."""
    try:
        main()
    except (ValueError, FileNotFoundError) as err:
        if os.environ.get("RLREWARD_DEBUG", "") not in ("", "0"):
            raise
        print(f"error: {error_line(err)}", file=sys.stderr)
        sys.exit(2)
