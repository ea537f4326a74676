"""Dialogue: reply coherently in short conversations.

Data: chatterbot-corpus conversations cut into (up to 3 context turns -> the real next reply), 1,178
of them, or a user's ``--dataset`` (``--dataset_column messages --reference_column reply``: a column of
chats, or of plain user texts). The policy sees the context as a chat. Rewards: a reply-coherence
reward model (``recipes/train_reward_model.py`` writes it to ``outputs/reward_model_dialogue``) scoring
the context and the reply, per token as the change in its score over the reply's prefixes;
``repetition`` (-1/m on each token repeating one of the reply's m trigrams) and ``length`` (-0.02 on
each token after the 20th). Metrics: the reward model's score and chrF against the real reply (0-100).
"""

from __future__ import annotations

import os
from typing import Any

from rlreward.data import load_dialogue
from rlreward.rewards.classifier import ClassifierReward, trained_with_prompt
from rlreward.rewards.metrics import LengthPenalty, RepetitionPenalty, repetition_rate
from rlreward.tasks.base import EvalContext, Task, own_dataset
from rlreward.tasks.translation import reference_metrics

DEFAULT_REWARD_MODEL = "outputs/reward_model_dialogue"
REWARD_MODEL_NAME = "reward_model"


def load_data(args: Any, options: Any) -> Any:
    if args.dataset:
        data = own_dataset(args, f"dialogue: {args.dataset}", reference=("reference", "reference"))
    else:
        data = load_dialogue(eval_size=args.eval_size, seed=0)
    # The policy and the reward model see the context as chat messages (the reward model's text:
    # the turns joined by newlines, then the reply, as train_reward_model.py trains it).
    if "messages" not in data["train"].column_names:
        data = data.map(lambda row: {"messages": [{"role": "user", "content": row["prompt"]}]})
    return data.remove_columns("prompt")


def reward_model(spec: str, tokenizer: Any, label: int | str) -> ClassifierReward:
    """A classifier ``--reward`` as a reward model of the reply given its context."""
    model = ClassifierReward(spec, label=label, include_prompt=True, policy_tokenizer=tokenizer)
    # train_reward_model.py records whether it scored the context too; a dialogue reward model without
    # that record is taken to score the context and the reply.
    model.include_prompt = trained_with_prompt(model.model.config, default=True)
    model.name = REWARD_MODEL_NAME
    return model


def dialogue_items(result: Any, context: EvalContext) -> dict[str, list[float]]:
    """The first reward model's score of each held-out reply (if the run has a reward model), and the
    reply's length in words and its repeated-trigram rate, so that reward hacking shows."""
    rows = result.rows
    items = {
        "eval/reply_words": [float(len(r["completion"].split())) for r in rows],
        "eval/repetition_rate": [repetition_rate(r["completion"].split()) for r in rows],
    }
    models = [r for r in context.rewards if getattr(r, "name", None) == REWARD_MODEL_NAME]
    if models:
        items["eval/reward_model"] = list(
            models[0]([r["prompt"] for r in rows], [r["completion"] for r in rows])
        )
    return items


def dialogue_metrics(result: Any, context: EvalContext) -> dict[str, float]:
    """Corpus chrF against the real replies."""
    return reference_metrics(result, bleu=False)


def check(args: Any, options: Any, config: Any) -> None:
    if DEFAULT_REWARD_MODEL in (args.reward or [DEFAULT_REWARD_MODEL]) and not os.path.isdir(
        DEFAULT_REWARD_MODEL
    ):
        raise ValueError(
            f"no reward model at {DEFAULT_REWARD_MODEL}: run `python recipes/train_reward_model.py` first, "
            "or pass --reward <reward model folder> (plus --reward repetition --reward length)."
        )


TASK = Task(
    name="dialogue",
    title="PPO dialogue (instant reward-model score + repetition and length terms)",
    load_data=load_data,
    rewards={
        "repetition": lambda tokenizer: RepetitionPenalty(n=3),
        "length": lambda tokenizer: LengthPenalty(target_tokens=20, per_token_cost=0.02),
    },
    default_reward=(DEFAULT_REWARD_MODEL, "repetition", "length"),
    item_metrics=dialogue_items,
    metrics=dialogue_metrics,
    reference=lambda row: row["reference"],  # SFT imitates the real reply
    classifier=reward_model,
    check=check,
)
