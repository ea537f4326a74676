"""Question answering: answer briefly and correctly.

Data (``--qa_data``): ``reading`` (default), reading comprehension written for rlreward: a short
passage, a question, the answer a span of the passage (600 training questions from 200 passages, 120
held out from 40 other passages: ``rlreward/data/reading.py``); ``trivia``, the chatterbot corpus's
trivia questions with every gold answer seen for them (261 questions; a 135M policy does not know
them); or a user's ``--dataset`` (SQuAD style: ``--dataset_column question --reference_column answers``; a
``context`` column is prepended to the question when present). Rewards: ``token_f1`` (per token, the
SQuAD token-F1 gain of the prefix), ``exact_match`` and ``length`` (a brevity term: -0.02 on each
token after the 6th). Metrics: SQuAD exact match and token F1 (0-1) against the gold answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlreward.data import load_qa
from rlreward.data.reading import load_reading_qa
from rlreward.rewards.metrics import ExactMatchReward, LengthPenalty, TokenF1Reward, exact_match, token_f1
from rlreward.tasks.base import EvalContext, Task, mean

# An answer of a few words is 3-6 tokens; past that, each token costs 0.02 (a whole F1 point is 1.0).
BRIEF_TOKENS, COST_PER_TOKEN = 6, 0.02


@dataclass
class QAArguments:
    """Which built-in questions."""

    qa_data: str = field(
        default="reading",
        metadata={
            "help": "Built-in data: reading (passage + question, the answer a span of it) or trivia "
            "(closed-book chatterbot trivia). Ignored with --dataset."
        },
    )

    def __post_init__(self):
        if self.qa_data not in ("reading", "trivia"):
            raise ValueError(f"--qa_data {self.qa_data!r}: choose reading or trivia.")


def load_data(args: Any, options: QAArguments) -> Any:
    if args.dataset:
        return load_qa(
            args.dataset,
            question_column=args.dataset_column or "question",
            answers_column=args.reference_column or "answers",
            eval_size=args.eval_size,
        )
    if options.qa_data == "reading":
        return load_reading_qa(eval_passages=-(-args.eval_size // 3), seed=0)
    return load_qa(eval_size=args.eval_size, seed=0)


def answer_items(
    result: Any, context: EvalContext | None = None, answers_column: str = "answers"
) -> dict[str, list[float]]:
    """SQuAD exact match and token F1 (0-1) of each completion against its row's gold answers."""
    rows = result.rows
    return {
        "eval/exact_match": [exact_match(r["completion"], r[answers_column]) for r in rows],
        "eval/token_f1": [token_f1(r["completion"], r[answers_column]) for r in rows],
    }


def answer_metrics(result: Any, context: EvalContext | None = None, answers_column: str = "answers") -> dict:
    """The means of :func:`answer_items`."""
    return {k: mean(v) for k, v in answer_items(result, context, answers_column).items()}


TASK = Task(
    name="qa",
    title="PPO question answering (instant token F1 + brevity)",
    load_data=load_data,
    rewards={
        "token_f1": lambda tokenizer: TokenF1Reward(tokenizer=tokenizer),
        "exact_match": lambda tokenizer: ExactMatchReward(tokenizer=tokenizer),
        "length": lambda tokenizer: LengthPenalty(BRIEF_TOKENS, COST_PER_TOKEN),
    },
    default_reward=("token_f1", "length"),
    default_weights=(1.0, 1.0),
    item_metrics=answer_items,
    reference=lambda row: row["answers"][0],  # SFT imitates the first gold answer
    options=QAArguments,
)
