"""The command line of a recipe: its arguments, the YAML that holds its defaults, and flag checks.

Order of precedence: the dataclass defaults, then ``recipes/configs/<recipe>.yaml`` (loaded by
default; ``--config other.yaml`` replaces it), then CLI flags. Every mistake is one sentence naming
the flag or the YAML key and the fix, raised before anything heavy loads.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPEATABLE = ("--reward", "--reward_weights")


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
            "package.module:callable (the module importable: an installed package or PYTHONPATH=.). "
            "Empty: the task's default."
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
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Replace a finished or partial run in output_dir (otherwise the run refuses)."},
    )
    reward_noise: float = field(
        default=0.0,
        metadata={
            "help": "Robustness experiments: Gaussian noise on every training reward, sigma x the reward's running "
            "std (rlreward.rewards.NoisyReward; split over the tokens of per-token rewards). Evaluation stays clean."
        },
    )
    reward_flip: float = field(
        default=0.0,
        metadata={
            "help": "Robustness experiments: the share of training rewards flipped (see --reward_flip_mode)."
        },
    )
    reward_flip_mode: str = field(
        default="sign",
        metadata={"help": "sign: R -> -R; label (pass/fail rewards in {0, 1}): R -> 1 - R."},
    )
    prompt_noise: float = field(
        default=0.0,
        metadata={
            "help": "Robustness experiments: the share of words in the training prompts dropped or misspelt "
            "(rlreward.data.noise)."
        },
    )
    eval_prompt_noise: float = field(
        default=0.0, metadata={"help": "The same on the held-out prompts (0: clean)."}
    )
    prompt_length_factor: int = field(
        default=1,
        metadata={
            "help": "Robustness experiments: plain-text prompts (sentiment) made N times longer with N - 1 other "
            "prompts of the same split before each, one per line."
        },
    )
    num_threads: int | None = field(
        default=None,
        metadata={
            "help": "torch CPU threads. None: every core when this is the only process (accelerate launch "
            "would give it one), else torch's default."
        },
    )
    debug: bool = field(
        default=False, metadata={"help": "Show the full traceback of an error (or set RLREWARD_DEBUG=1)."}
    )


def merge_repeated_flags(argv: Sequence[str], flags: Sequence[str] = REPEATABLE) -> list[str]:
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


def _fields(classes: Sequence[type]) -> dict[str, dataclasses.Field]:
    return {f.name: f for cls in classes for f in dataclasses.fields(cls) if f.init}


def _closest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_flags(argv: Sequence[str], classes: Sequence[type]) -> None:
    """An unknown ``--flag`` is one sentence with the nearest known flag, before argparse's usage dump."""
    known = [f"--{name}" for name in _fields(classes)] + ["--config", "--help", "-h"]
    for arg in argv:
        if arg.startswith("--"):
            flag = arg.split("=", 1)[0]
            if flag not in known:
                raise ValueError(f"unknown flag {flag}.{_closest(flag, known)} (--help lists them)")


def _type_ok(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a field's type (int for float is fine, bool is not an int)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def read_config(path: str | Path, classes: Sequence[type]) -> dict[str, Any]:
    """A recipe YAML as a mapping of known fields, each of the field's type; else one sentence naming
    the file, the key and the fix."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"--config {str(path)!r} is not a file; pass a YAML such as recipes/configs/ppo_qa.yaml."
        )
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ValueError(f"{path} is not valid YAML{line}; fix the file.") from err
    if config is None:
        raise ValueError(f"{path} is empty; give it key: value lines (see recipes/configs/).")
    if not isinstance(config, dict):
        raise ValueError(f"{path} must be a mapping of key: value lines, not a {type(config).__name__}.")
    known = _fields(classes)
    hints = {name: hint for cls in classes for name, hint in typing.get_type_hints(cls).items()}
    for key, value in config.items():
        if key not in known:
            raise ValueError(f"{path}: unknown key {key!r}.{_closest(str(key), list(known))}")
        if not _type_ok(value, hints[key]):
            raise ValueError(
                f"{path}: {key}: {value!r} is not of type {hints[key]}; fix the value "
                f"({known[key].metadata.get('help', '')})"
            )
    return config


def parse_args(
    config_class: type,
    argv: Sequence[str] | None = None,
    default_config: str | Path | None = None,
    extra: Sequence[type] = (),
) -> tuple[Any, ...]:
    """Parse into ``(ScriptArguments, config_class, *extra)``: dataclass defaults, then ``--config
    file.yaml`` (``default_config`` when the command line names none), then CLI flags. ``extra`` are a
    task's own argument dataclasses (``--language``...)."""
    from trl import TrlParser

    classes = (ScriptArguments, config_class, *extra)
    argv = merge_repeated_flags(sys.argv[1:] if argv is None else argv)
    check_flags(argv, classes)
    config_path = default_config
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            raise ValueError("--config needs a YAML path, e.g. --config recipes/configs/ppo_qa.yaml.")
        config_path = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    parser = TrlParser(classes)
    parser.epilog = f"--config FILE.yaml: defaults from a YAML (this recipe: {default_config or 'none'}); flags override it."
    if config_path is not None:
        parser.set_defaults_with_config(**read_config(config_path, classes))
    return tuple(parser.parse_args_into_dataclasses(args=argv))
