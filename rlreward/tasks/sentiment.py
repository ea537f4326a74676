"""Sentiment steering: continue movie-review openings positively.

Data: 390 review openings written for rlreward (64 held out), or a user's ``--dataset`` with a text
column (``--prefix_words N`` keeps the first N words of each text as the opening: IMDB reviews are
long). Rewards: ``vader`` (VADER compound, per token as the change in the prefix's score) and
``vader_sequence`` (the same score, densified by ``--densify``). Metrics: the mean VADER compound of
the held-out completions and the share VADER calls positive (compound >= 0.05, VADER's threshold),
whatever reward the run trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlreward.data import load_sentiment_prompts
from rlreward.rewards.lexicon import SentimentLexiconReward
from rlreward.tasks.base import EvalContext, Task

POSITIVE = 0.05  # VADER's own threshold for "positive"


@dataclass
class SentimentArguments:
    """Own data for the sentiment task."""

    prefix_words: int | None = field(
        default=None,
        metadata={
            "help": "With --dataset: keep only the first N words of each text as the opening "
            "(e.g. 8 for IMDB reviews); None keeps the whole text."
        },
    )


def load_data(args: Any, options: SentimentArguments) -> Any:
    if args.dataset:
        return load_sentiment_prompts(
            args.dataset,
            column=args.dataset_column or "text",
            prefix_words=options.prefix_words,
            eval_size=args.eval_size,
            seed=0,
        )
    return load_sentiment_prompts(eval_size=args.eval_size, seed=0)


_VADER = SentimentLexiconReward(per_token=None)


def sentiment_items(result: Any, context: EvalContext) -> dict[str, list[float]]:
    """VADER compound of each held-out completion, and whether VADER calls it positive (>= 0.05)."""
    compound = [_VADER.polarity(row["completion"])[0] for row in result.rows]
    return {"eval/vader": compound, "eval/vader_positive_share": [float(c >= POSITIVE) for c in compound]}


TASK = Task(
    name="sentiment",
    title="PPO sentiment (instant VADER)",
    load_data=load_data,
    rewards={
        "vader": lambda tokenizer: SentimentLexiconReward(tokenizer=tokenizer),
        "vader_sequence": lambda tokenizer: SentimentLexiconReward(per_token=None),
    },
    default_reward=("vader",),
    item_metrics=sentiment_items,
    options=SentimentArguments,
)
