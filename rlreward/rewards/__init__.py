"""The reward-model module: sequence and per-token ("instant") rewards behind one interface."""

from rlreward.rewards.base import (
    FunctionReward,
    InstantReward,
    Reward,
    RewardError,
    RewardOutput,
    as_instant,
    completion_text,
    evaluate_reward,
    prompt_text,
)
from rlreward.rewards.shaping import (
    STRATEGIES,
    CombinedReward,
    DensifiedReward,
    NormalizedReward,
    PrefixDeltaReward,
    densify,
    with_per_token,
)

__all__ = [
    "STRATEGIES",
    "CombinedReward",
    "DensifiedReward",
    "FunctionReward",
    "InstantReward",
    "NormalizedReward",
    "PrefixDeltaReward",
    "Reward",
    "RewardError",
    "RewardOutput",
    "as_instant",
    "completion_text",
    "densify",
    "evaluate_reward",
    "prompt_text",
    "with_per_token",
]
