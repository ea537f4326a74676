"""RL maths on tensors: returns, advantages, baselines, KL estimators and losses. No trainer state."""

from rlreward.rl.advantages import (
    ADVANTAGE_ESTIMATORS,
    discounted_returns,
    gae,
    group_advantages,
    group_mean_baseline,
    group_std,
    leave_one_out_baseline,
    masked_mean,
    masked_sum,
    masked_whiten,
    summed_group_advantages,
)
from rlreward.rl.kl import ESTIMATORS, KLController, kl_estimate
from rlreward.rl.losses import (
    PolicyLoss,
    ValueLoss,
    clipped_policy_loss,
    clipped_value_loss,
    entropy_from_logits,
    token_logprobs,
)

__all__ = [
    "ADVANTAGE_ESTIMATORS",
    "ESTIMATORS",
    "KLController",
    "PolicyLoss",
    "ValueLoss",
    "clipped_policy_loss",
    "clipped_value_loss",
    "discounted_returns",
    "entropy_from_logits",
    "gae",
    "group_advantages",
    "group_mean_baseline",
    "group_std",
    "kl_estimate",
    "leave_one_out_baseline",
    "masked_mean",
    "masked_sum",
    "masked_whiten",
    "summed_group_advantages",
    "token_logprobs",
]
