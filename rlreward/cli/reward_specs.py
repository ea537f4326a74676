"""``--reward`` specs: a built-in name, ``package.module:callable``, or a classifier folder / Hub id."""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from rlreward.rewards.base import InstantReward, as_instant
from rlreward.sources import looks_like_hub_id
from rlreward.tasks.base import ClassifierFactory, RewardFactory


def load_reward(
    spec: str,
    tokenizer: Any,
    builtins: Mapping[str, RewardFactory],
    label: str | None = None,
    classifier: ClassifierFactory | None = None,
) -> Any:
    """Turn one ``--reward`` spec into a reward object.

    Forms, tried in order: a built-in name; ``package.module:callable`` (a TRL-style function, an
    InstantReward instance, or a class/factory called with no arguments or with ``tokenizer=``);
    a local folder or Hub id of a sequence classifier (``label`` picks the class), built by
    ``classifier(spec, tokenizer, label)`` when a task needs more than a plain ``ClassifierReward``.
    """
    kind = check_reward_spec(spec, builtins)
    if kind == "builtin":
        return builtins[spec](tokenizer)
    if kind == "import":
        obj = _import(spec)
        if isinstance(obj, type):
            obj = _call_with_tokenizer(obj, tokenizer)
        return obj
    known = ", ".join(sorted(builtins))
    label_value: int | str = int(label) if label is not None and label.isdigit() else (label or 0)
    try:
        return (classifier or _classifier_reward)(spec, tokenizer, label_value)
    except Exception as err:
        raise ValueError(
            f"--reward {spec!r} is not a built-in ({known}), not package.module:callable, and could not be "
            f"loaded as a sequence classifier ({type(err).__name__}: {err})."
        ) from err


def check_reward_spec(spec: str, builtins: Mapping[str, RewardFactory]) -> str:
    """What ``spec`` names, ``builtin`` | ``import`` | ``classifier``, checked without loading a model
    (an import is imported); else one sentence with the nearest built-in."""
    if spec in builtins:
        return "builtin"
    if ":" in spec and not os.path.exists(spec):
        _import(spec)
        return "import"
    if not os.path.exists(spec) and not looks_like_hub_id(spec):  # fail now, not after Hub retries
        close = difflib.get_close_matches(spec, list(builtins), n=1)
        raise ValueError(
            f"--reward {spec!r} is not a built-in ({', '.join(sorted(builtins))}), an existing folder, "
            f"package.module:callable, or a Hub id (org/name).{f' Did you mean {close[0]!r}?' if close else ''}"
        )
    return "classifier"


def _import(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"--reward {spec!r}: could not import {attr!r} from module {module_name!r} ({err}); check the "
            "module is importable (installed, or PYTHONPATH=. for a file in this folder) and the name "
            "after ':' exists."
        ) from err


def _classifier_reward(spec: str, tokenizer: Any, label: int | str) -> Any:
    from rlreward.rewards.classifier import ClassifierReward

    return ClassifierReward(spec, label=label, policy_tokenizer=tokenizer)


def _call_with_tokenizer(factory: type, tokenizer: Any) -> Any:
    try:
        return factory(tokenizer=tokenizer)
    except TypeError:
        return factory()


def reward_specs(args: Any, task: Any) -> tuple[list[str], list[float] | None]:
    """The specs and weights of a run: ``--reward`` / ``--reward_weights``, else the task's defaults.

    ``--reward_weights`` alone re-weights the default rewards; ``--reward`` alone takes equal weights.
    """
    specs = list(args.reward) or list(task.default_reward)
    weights = args.reward_weights
    if weights is None and not args.reward and task.default_weights is not None:
        weights = list(task.default_weights)
    if weights is not None and len(weights) != len(specs):
        raise ValueError(
            f"Got {len(weights)} --reward_weights for {len(specs)} --reward ({', '.join(specs)}); give one "
            "weight per reward."
        )
    return specs, weights


def check_rewards(args: Any, task: Any) -> None:
    """Every ``--reward`` spec and weight, and the reward-noise flags, checked before the model loads."""
    specs, _ = reward_specs(args, task)
    for spec in specs:
        check_reward_spec(spec, task.rewards)
    if args.reward_noise < 0:
        raise ValueError(f"--reward_noise {args.reward_noise} must be >= 0 (a multiple of the reward's std).")
    if not 0 <= args.reward_flip <= 1:
        raise ValueError(f"--reward_flip {args.reward_flip} must be a share in [0, 1].")
    if args.reward_flip_mode not in ("sign", "label"):
        raise ValueError(f"--reward_flip_mode {args.reward_flip_mode!r}: pass sign or label.")


def build_reward(
    args: Any, tokenizer: Any, task: Any, seed: int = 0
) -> tuple[list[InstantReward], list[float] | None, list[str]]:
    """The rewards, weights and specs of a run (see :func:`reward_specs`).

    With ``--reward_noise`` or ``--reward_flip`` each reward is wrapped in a
    :class:`~rlreward.rewards.shaping.NoisyReward` (its own noise stream: ``seed``, then the reward's
    position), so training sees noisy rewards and evaluation, where rewards are frozen, clean ones.
    """
    specs, weights = reward_specs(args, task)
    rewards = [
        as_instant(load_reward(s, tokenizer, task.rewards, args.reward_label, task.classifier)) for s in specs
    ]
    if args.reward_noise or args.reward_flip:
        from rlreward.rewards.shaping import NoisyReward

        rewards = [
            NoisyReward(r, args.reward_noise, args.reward_flip, args.reward_flip_mode, seed=seed * 1000 + i)
            for i, r in enumerate(rewards)
        ]
    return rewards, weights, specs


def describe_rewards(
    specs: Sequence[str], rewards: Sequence[Any], weights: Sequence[float] | None, densify: str
) -> list[str]:
    """One line per reward: its spec, weight, and whether it gives per-token rewards or is densified."""
    lines = []
    for i, (spec, reward) in enumerate(zip(specs, rewards)):
        weight = 1.0 if weights is None else weights[i]
        mode = getattr(reward, "per_token", "unknown")
        if mode is None:
            credit = f"sequence score, densified by {densify!r}"
        elif mode == "unknown":
            credit = f"per-token if it returns them, else densified by {densify!r}"
        else:
            credit = f"per-token ({mode})" if isinstance(mode, str) else "per-token"
        lines.append(f"reward {spec!r} ({type(reward).__name__}), weight {weight:g}: {credit}")
    return lines
