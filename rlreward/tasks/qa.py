"""Question answering: answer briefly and correctly.

Data: the chatterbot corpus's trivia questions with every gold answer seen for them (261 questions),
or a user's ``--dataset`` (SQuAD style: ``--dataset_column question --reference_column answers``; a
``context`` column is prepended to the question when present). Rewards: ``token_f1`` (per token, the
SQuAD token-F1 gain of the prefix), ``exact_match`` and ``length`` (a brevity term: -0.02 on each
token after the 6th). Metrics: SQuAD exact match and token F1 (0-1) against the gold answers.
"""

from __future__ import annotations

from typing import Any

from rlreward.data import load_qa
from rlreward.rewards.metrics import ExactMatchReward, LengthPenalty, TokenF1Reward, exact_match, token_f1
from rlreward.tasks.base import EvalContext, Task, mean

# An answer of a few words is 3-6 tokens; past that, each token costs 0.02 (a whole F1 point is 1.0).
BRIEF_TOKENS, COST_PER_TOKEN = 6, 0.02


def load_data(args: Any, options: Any) -> Any:
    if args.dataset:
        return load_qa(
            args.dataset,
            question_column=args.dataset_column or "question",
            answers_column=args.reference_column or "answers",
            eval_size=args.eval_size,
        )
    return load_qa(eval_size=args.eval_size, seed=0)


def answer_metrics(result: Any, context: EvalContext | None = None, answers_column: str = "answers") -> dict:
    """SQuAD exact match and token F1 (0-1) of each completion against its row's gold answers."""
    rows = result.rows
    return {
        "eval/exact_match": mean([exact_match(r["completion"], r[answers_column]) for r in rows]),
        "eval/token_f1": mean([token_f1(r["completion"], r[answers_column]) for r in rows]),
    }


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
    metrics=answer_metrics,
    reference=lambda row: row["answers"][0],  # SFT imitates the first gold answer
)
