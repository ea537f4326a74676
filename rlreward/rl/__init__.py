"""RL maths on tensors: returns, advantages, baselines, KL estimators and losses. No trainer state."""

from rlreward.rl.advantages import (
    discounted_returns,
    gae,
    leave_one_out_baseline,
    masked_mean,
    masked_sum,
    masked_whiten,
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
    "ESTIMATORS",
    "KLController",
    "PolicyLoss",
    "ValueLoss",
    "clipped_policy_loss",
    "clipped_value_loss",
    "discounted_returns",
    "entropy_from_logits",
    "gae",
    "kl_estimate",
    "leave_one_out_baseline",
    "masked_mean",
    "masked_sum",
    "masked_whiten",
    "token_logprobs",
]
