"""Run TRL's own RLOO / GRPO trainers with rlreward rewards (sequence scores only).

For users who want TRL's machinery (vLLM generation, DeepSpeed, its callbacks) and whose signal is
one score per completion. Every rlreward reward is already a TRL reward function (calling it returns
``list[float]``), so the bridge only wires the pieces; per-token rewards are *not* used by TRL: for
instant rewards use :class:`~rlreward.trainers.PPOTrainer` or :class:`~rlreward.trainers.ReinforceTrainer`.

Example:
    >>> from trl import RLOOConfig  # doctest: +SKIP
    >>> trainer = trl_trainer("rloo", "smollm2-135m-instruct", [SentimentLexiconReward()], dataset,
    ...                       RLOOConfig(output_dir="out", num_generations=4))  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlreward.rewards.base import as_instant


def trl_reward_funcs(rewards: Sequence[Any]) -> list[Any]:
    """rlreward rewards (or TRL functions) as TRL ``reward_funcs``: validated, named, picklable."""
    return [as_instant(r) for r in rewards]


def trl_trainer(
    kind: str,
    model: Any,
    rewards: Sequence[Any],
    train_dataset: Any,
    args: Any,
    tokenizer: Any = None,
    peft_config: Any = None,
    **kwargs: Any,
):
    """Build ``trl.RLOOTrainer`` (``kind="rloo"``) or ``trl.GRPOTrainer`` (``kind="grpo"``).

    Args:
        model: a model object, an rlreward model name (resolved offline) or a Hub id.
        rewards: rlreward rewards or TRL reward functions; weights go in ``args.reward_weights``.
        args: the matching TRL config (``RLOOConfig`` / ``GRPOConfig``).
        peft_config: a ``peft.LoraConfig`` to train an adapter, as in TRL.
    """
    import trl

    classes = {"rloo": trl.RLOOTrainer, "grpo": trl.GRPOTrainer}
    if kind not in classes:
        raise ValueError(f"kind={kind!r}: choose 'rloo' or 'grpo'.")
    if isinstance(model, str):
        from rlreward.models import load_causal_lm

        model, loaded = load_causal_lm(model)
        tokenizer = tokenizer or loaded
    return classes[kind](
        model=model,
        reward_funcs=trl_reward_funcs(rewards),
        args=args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        **kwargs,
    )
