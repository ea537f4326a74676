"""The :class:`Task` record: what a task is, apart from how it is trained.

A task is data + rewards + metrics. The generic runner (:mod:`rlreward.cli.runner`) takes a ``Task``
and never names one; a recipe (``recipes/ppo_<task>.py``) is a launcher that hands its task to the
runner, and its defaults live in ``recipes/configs/ppo_<task>.yaml`` only.

Column convention (``docs/data.md``): ``prompt`` (str) or ``messages`` (chat), plus the task's
reference columns (``reference``, ``answers``, ``tests``/``entry_point``...). Rows of the evaluation
split come back in :class:`~rlreward.trainers.base.EvalResult` ``rows`` with those columns and the
``completion``, so task metrics are functions of an ``EvalResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RewardFactory = Callable[[Any], Any]
"""The policy tokenizer -> a reward object (an :class:`~rlreward.rewards.base.InstantReward` or a
TRL-style function)."""

ClassifierFactory = Callable[[str, Any, "int | str"], Any]
"""(classifier folder or Hub id, policy tokenizer, label) -> a reward, for ``--reward <folder>``."""


@dataclass
class EvalContext:
    """What a task's metrics may use besides the evaluation rows.

    Attributes:
        trainer: the trainer being evaluated (for evaluations on other data, e.g. HumanEval).
        rewards: the run's reward objects, in ``--reward`` order.
        options: the task's own parsed options (an instance of ``Task.options``), or None.
        temperature: the evaluation's sampling temperature (0: greedy).
    """

    trainer: Any
    rewards: Sequence[Any]
    options: Any
    temperature: float


@dataclass(frozen=True)
class Task:
    """One task: its data, its built-in rewards, its metrics and its reference outputs.

    Attributes:
        name: short name (``qa``), used in messages and output folders.
        title: the report's title.
        load_data: ``(args, options) -> {"train", "eval"}``: the built-in splits when
            ``args.dataset`` is None, else the user's ``--dataset`` mapped to the task's columns
            (``--dataset_column``, ``--reference_column``) and validated, ``args.eval_size`` rows held out.
        rewards: built-in reward names -> ``factory(policy_tokenizer)``.
        default_reward: the reward specs used without ``--reward`` (built-in names, folders, imports).
        default_weights: their weights (None: equal).
        item_metrics: ``(result, context) -> {"eval/<name>": [value per row]}``, the task's per-item
            metrics (exact match, sentence chrF, pass/fail...); their means join the evaluation's
            metrics, and the runner reports each before/after difference with a paired bootstrap CI.
        metrics: ``(result, context) -> {"eval/<name>": value}``, metrics of the whole evaluation that
            are not means over items (corpus chrF, HumanEval pass@1); they join the trainer's
            ``eval/reward``, ``eval/kl``...
        reference: a training row -> the output SFT imitates (``--sft_baseline``); None when the
            task has no reference outputs.
        options: a dataclass of the task's own flags (``--language``), parsed after the trainer's.
        classifier: builds classifier ``--reward`` specs when a plain ``ClassifierReward`` is not
            what the task needs (dialogue scores the context too).
        check: ``(args, options, config) -> None``, raises a ``ValueError`` with the fix before anything
            loads (dialogue: the default reward model exists; codegen: completion mode has no chat
            template).
    """

    name: str
    title: str
    load_data: Callable[[Any, Any], Mapping[str, Any]]
    rewards: Mapping[str, RewardFactory]
    default_reward: tuple[str, ...]
    default_weights: tuple[float, ...] | None = None
    item_metrics: Callable[[Any, EvalContext], dict[str, list[float]]] | None = None
    metrics: Callable[[Any, EvalContext], dict[str, float]] | None = None
    reference: Callable[[dict[str, Any]], str | None] | None = None
    options: type | None = None
    classifier: ClassifierFactory | None = None
    check: Callable[[Any, Any, Any], None] | None = None

    def __post_init__(self):
        if not self.default_reward:
            raise ValueError(f"Task {self.name!r}: default_reward is empty; name at least one reward.")
        if self.default_weights is not None and len(self.default_weights) != len(self.default_reward):
            raise ValueError(
                f"Task {self.name!r}: {len(self.default_weights)} default_weights for "
                f"{len(self.default_reward)} default rewards; give one weight per reward."
            )

    def evaluation(
        self, result: Any, context: EvalContext
    ) -> tuple[dict[str, float], dict[str, list[float]]]:
        """An evaluation's metrics (the trainer's, the means of the per-item ones, the task's own) and the
        per-item values (``eval/reward`` and the task's item metrics), one per row."""
        items = {"eval/reward": [float(row["reward"]) for row in result.rows]}
        items.update(self.item_metrics(result, context) if self.item_metrics else {})
        metrics = {**result.metrics, **{k: mean(v) for k, v in items.items() if k != "eval/reward"}}
        metrics.update(self.metrics(result, context) if self.metrics else {})
        return metrics, items

    def task_metrics(self, result: Any, context: EvalContext) -> dict[str, float]:
        """An evaluation's metrics: the trainer's, then the task's (see :meth:`evaluation`)."""
        return self.evaluation(result, context)[0]


def mean(values: Sequence[float]) -> float:
    """The mean of ``values``; NaN for none."""
    return float(sum(values) / len(values)) if values else float("nan")


def own_dataset(args: Any, task: str, reference: tuple[str, str] | None = None) -> Any:
    """``args.dataset`` (a local file or Hub dataset) as ``{"train", "eval"}`` in the task's columns.

    ``--dataset_column`` (default ``prompt``) becomes ``prompt`` (a chat column becomes ``messages``
    plus its last user text); with ``reference=(name, default)``, ``--reference_column`` (default
    ``default``) becomes the column ``name`` the reward reads. ``args.eval_size`` rows (a seeded
    shuffle) are held out.
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
