"""Trainers: orchestration of rollouts, rewards and updates. The maths is in rlreward.rl."""

from rlreward.trainers.base import EvalResult, RLTrainer
from rlreward.trainers.config import PPOConfig, ReinforceConfig, RLConfig
from rlreward.trainers.ppo import PPOTrainer
from rlreward.trainers.reinforce import ReinforceTrainer

__all__ = [
    "EvalResult",
    "PPOConfig",
    "PPOTrainer",
    "RLConfig",
    "RLTrainer",
    "ReinforceConfig",
    "ReinforceTrainer",
]
