"""Policy-gradient losses. Pure functions; shapes ``(b, t)`` with ``mask`` 1 on real tokens."""

from __future__ import annotations

from typing import NamedTuple

import torch

from rlreward.rl.advantages import masked_mean


def _token_mean(values: torch.Tensor, mask: torch.Tensor, num_tokens) -> torch.Tensor:
    if num_tokens is None:
        return masked_mean(values, mask)
    return (values * mask).sum() / num_tokens


class PolicyLoss(NamedTuple):
    """Clipped surrogate loss and its diagnostics (all scalars).

    Every field is a token mean over the mask, or, with ``num_tokens``, this chunk's additive share of
    the mean over the whole mini-batch: summing the fields over micro-batches and processes gives the
    mini-batch's loss, clip fraction and approximate KL.
    """

    loss: torch.Tensor
    clipfrac: torch.Tensor  # share of tokens where the clipped branch was taken
    approx_kl: torch.Tensor  # E[(ratio - 1) - log ratio] between old and new policy (k3)


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float = 0.2,
    num_tokens: torch.Tensor | float | None = None,
) -> PolicyLoss:
    """PPO's clipped surrogate (Schulman et al. 2017), averaged over real tokens.

    ``ratio_t = exp(log pi(y_t) - log pi_old(y_t))``,
    ``L = -mean_t min(ratio_t * A_t, clip(ratio_t, 1 - eps, 1 + eps) * A_t)``.
    With one update per rollout the ratio is 1 and this is the REINFORCE/policy-gradient loss.

    ``num_tokens``: divide the summed token losses (and diagnostics) by this count instead of the
    tokens in ``mask``. Trainers pass the token count of the whole mini-batch over all processes, so
    that splitting a mini-batch into micro-batches or processes does not change the gradient, and the
    chunks' values add up to the mini-batch's.
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    loss = _token_mean(torch.maximum(unclipped, clipped), mask, num_tokens)
    with torch.no_grad():
        clipfrac = _token_mean((clipped > unclipped).float(), mask, num_tokens)
        approx_kl = _token_mean(ratio - 1.0 - log_ratio, mask, num_tokens)
    return PolicyLoss(loss, clipfrac, approx_kl)


class ValueLoss(NamedTuple):
    """Clipped value loss and the share of tokens where the clipped branch was taken (as :class:`PolicyLoss`)."""

    loss: torch.Tensor
    clipfrac: torch.Tensor


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float = 0.2,
    num_tokens: torch.Tensor | float | None = None,
) -> ValueLoss:
    """PPO's clipped value loss: ``0.5 * mean_t max((V - G)^2, (clip(V, V_old +- eps) - G)^2)``."""
    clipped_values = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
    unclipped_error = (values - returns) ** 2
    clipped_error = (clipped_values - returns) ** 2
    loss = 0.5 * _token_mean(torch.maximum(unclipped_error, clipped_error), mask, num_tokens)
    with torch.no_grad():
        clipfrac = _token_mean((clipped_error > unclipped_error).float(), mask, num_tokens)
    return ValueLoss(loss, clipfrac)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Per-position entropy of the categorical distribution, ``(b, t, v) -> (b, t)``."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities of ``tokens`` under ``logits / temperature``: ``(b, t, v), (b, t) -> (b, t)``.

    Uses ``logsumexp`` rather than a full ``log_softmax`` so that no second ``(b, t, v)`` tensor is made.
    """
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    picked = torch.gather(logits, -1, tokens.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)
