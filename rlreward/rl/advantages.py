"""Returns, advantages and baselines over per-token rewards. Pure functions of tensors.

Shapes: ``b`` completions, ``t`` completion tokens; ``mask`` is 1 on real completion tokens (up to
and including EOS) and 0 on padding. Padding never contributes to a return.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def masked_sum(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    return (values * mask).sum() if dim is None else (values * mask).sum(dim)


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (over all elements, or along ``dim``)."""
    if dim is None:
        return masked_sum(values, mask) / mask.sum().clamp(min=1)
    return masked_sum(values, mask, dim) / mask.sum(dim).clamp(min=1)


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, distributed: bool = False
) -> torch.Tensor:
    """Normalise ``values`` to zero mean and unit variance over the masked entries.

    Two passes in float64 (the mean, then the squared deviations from it), so that values far from
    zero keep their variance: the one-pass ``E[x^2] - E[x]^2`` in float32 cancels to noise there.
    With ``distributed=True`` the statistics are all-reduced across processes, so N processes
    whiten exactly as one process holding the whole batch would.

    Args:
        values: ``(b, t)``.
        mask: ``(b, t)`` 1 on the entries that count.
        shift_mean: subtract the mean (else only divide by the standard deviation).

    Returns:
        ``(b, t)`` in the dtype of ``values``, zero where ``mask`` is 0.
    """
    reduce = distributed and dist.is_available() and dist.is_initialized()
    x, m = values.double(), mask.double()
    stats = torch.stack([masked_sum(x, m), m.sum()])
    if reduce:
        dist.all_reduce(stats)
    total, count = stats.unbind()
    count = count.clamp(min=1)
    mean = total / count
    squared = masked_sum((x - mean) ** 2, m).reshape(1)
    if reduce:
        dist.all_reduce(squared)
    # Unbiased variance, as in PPO implementations; a single element keeps unit scale.
    var = squared[0] / (count - 1).clamp(min=1)
    whitened = (x - mean) * torch.rsqrt(var.clamp(min=1e-8))
    if not shift_mean:
        whitened = whitened + mean
    return (whitened * m).to(values.dtype)


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0, lam: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016) over per-token rewards.

    ``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)`` and ``A_t = delta_t + gamma * lam * A_{t+1}``,
    with ``V = 0`` after the last real token (the episode ends at EOS or at the length limit).

    Args:
        rewards: ``(b, t)`` per-token rewards (instant rewards plus the KL penalty).
        values: ``(b, t)`` value estimates ``V(s_t)``.
        mask: ``(b, t)`` 1 on real tokens.

    Returns:
        ``(advantages, returns)``, each ``(b, t)`` and zero on padding; ``returns = advantages + values``.
    """
    mask = mask.to(rewards.dtype)
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    next_advantage = torch.zeros_like(rewards[:, 0])
    next_value = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        # On padding, carry nothing forward: the episode has ended.
        advantages[:, t] = advantage * mask[:, t]
        next_advantage = advantages[:, t]
        next_value = values[:, t]
    return advantages, (advantages + values) * mask


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Returns-to-go ``G_t = sum_{s >= t} gamma^(s - t) r_s`` over real tokens: ``(b, t)``.

    An entry where ``mask`` is 0 ends the episode as it does in :func:`gae`: nothing is carried
    across it, so ``discounted_returns(r, m, g)`` equals ``gae(r, zeros, m, g, lam=1)[1]``.
    """
    mask = mask.to(rewards.dtype)
    rewards = rewards * mask
    contiguous = bool((mask[:, 1:] <= mask[:, :-1]).all())  # ones then zeros: no holes to stop at
    if gamma == 1.0 and contiguous:  # exact and vectorised: a reversed cumulative sum
        return rewards.flip(1).cumsum(1).flip(1) * mask
    returns = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        running = (rewards[:, t] + gamma * running) * mask[:, t]
        returns[:, t] = running
    return returns


def leave_one_out_baseline(returns: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Per-position leave-one-out baseline for ``k`` completions of each prompt (RLOO).

    ``b_t^i = mean_{j != i, t < T_j} G_t^j``: the mean return-to-go of the *other* completions of the
    same prompt at the same position, over those still running at ``t`` (0 if none). It depends only
    on the other samples, so subtracting it leaves the policy gradient unbiased. For terminal rewards
    with ``gamma = 1`` and equal lengths it equals the classic sequence-level RLOO baseline.

    Args:
        returns: ``(b, t)`` returns-to-go, rows grouped by prompt: rows ``[g*k, (g+1)*k)`` share a prompt.
        mask: ``(b, t)`` 1 on real tokens.
        k: completions per prompt, ``>= 2``.

    Returns:
        ``(b, t)`` baseline, zero on padding.
    """
    if k < 2:
        raise ValueError(f"A leave-one-out baseline needs k >= 2 completions per prompt, got k={k}.")
    b, t = returns.shape
    if b % k:
        raise ValueError(f"Batch of {b} completions is not a multiple of k={k}.")
    mask = mask.to(returns.dtype)
    grouped_returns = (returns * mask).view(b // k, k, t)
    grouped_mask = mask.view(b // k, k, t)
    others_sum = grouped_returns.sum(1, keepdim=True) - grouped_returns
    others_count = grouped_mask.sum(1, keepdim=True) - grouped_mask
    baseline = others_sum / others_count.clamp(min=1)
    return baseline.view(b, t) * mask


#: Advantage estimators of the trainers: GAE needs a value head; the group estimators need k >= 2
#: completions per prompt and no critic.
ADVANTAGE_ESTIMATORS = ("gae", "rloo", "grpo")


def _grouped(x: torch.Tensor, k: int) -> torch.Tensor:
    b, t = x.shape
    if k < 1 or b % k:
        raise ValueError(f"Batch of {b} completions is not a multiple of k={k} completions per prompt.")
    return x.view(b // k, k, t)


def group_mean_baseline(returns: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Per-position group mean (GRPO's baseline, per token): ``b_t^i = mean_{j: t < T_j} G_t^j``.

    The mean return-to-go at position ``t`` over the ``k`` completions of the same prompt that are still
    running at ``t``, completion ``i`` included (unlike :func:`leave_one_out_baseline`, so the estimate
    is biased by a factor ``(n - 1) / n`` where ``n`` samples run, as GRPO's is). For terminal rewards
    with ``gamma = 1`` and equal lengths it is the group mean of the sequence scores.

    Args:
        returns: ``(b, t)`` returns-to-go, rows grouped by prompt: rows ``[g*k, (g+1)*k)`` share a prompt.
        mask: ``(b, t)`` 1 on real tokens.
        k: completions per prompt.

    Returns:
        ``(b, t)`` baseline, zero on padding.
    """
    mask = mask.to(returns.dtype)
    grouped_returns, grouped_mask = _grouped(returns * mask, k), _grouped(mask, k)
    mean = grouped_returns.sum(1, keepdim=True) / grouped_mask.sum(1, keepdim=True).clamp(min=1)
    return (mean * grouped_mask).view_as(returns)


def group_std(returns: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Per-position standard deviation of the returns over a prompt's completions still running at ``t``.

    Unbiased (``n - 1`` in the denominator, as ``torch.std`` and TRL's GRPO); 0 where fewer than two
    completions run at ``t``. Shapes as :func:`group_mean_baseline`; ``(b, t)``, zero on padding.
    """
    mask = mask.to(returns.dtype)
    grouped_returns, grouped_mask = _grouped(returns * mask, k), _grouped(mask, k)
    count = grouped_mask.sum(1, keepdim=True)
    mean = grouped_returns.sum(1, keepdim=True) / count.clamp(min=1)
    squared = (((grouped_returns - mean) * grouped_mask) ** 2).sum(1, keepdim=True)
    std = torch.sqrt(squared / (count - 1).clamp(min=1)) * (count > 1)
    return (std * grouped_mask).view_as(returns)


def group_advantages(
    returns: torch.Tensor,
    mask: torch.Tensor,
    k: int,
    estimator: str = "rloo",
    scale: bool = False,
    eps: float = 1e-4,
) -> torch.Tensor:
    """Advantages from per-token returns-to-go and a baseline over the ``k`` completions of each prompt.

    * ``rloo``: ``A_t^i = G_t^i - mean_{j != i} G_t^j`` (:func:`leave_one_out_baseline`; unbiased).
    * ``grpo``: ``A_t^i = G_t^i - mean_j G_t^j`` (:func:`group_mean_baseline`), divided by
      ``std_j G_t^j + eps`` (:func:`group_std`) when ``scale``: GRPO (Shao et al. 2024). Without the
      scaling it is Dr. GRPO (Liu et al. 2025), which drops it because it weights prompts by how
      little their rewards vary.

    Means and standard deviations are taken per position ``t`` over the completions still running at
    ``t``, so each token is compared with what the other samples earned from the same position on. For
    terminal rewards with ``gamma = 1`` and equal lengths these are the classic sequence-level RLOO
    and GRPO advantages at every token.

    Args:
        returns: ``(b, t)`` returns-to-go (:func:`discounted_returns`), rows grouped by prompt.
        mask: ``(b, t)`` 1 on real tokens.
        k: completions per prompt, ``>= 2``.

    Returns:
        ``(b, t)`` advantages, zero on padding.
    """
    if k < 2:
        raise ValueError(f"A group baseline needs k >= 2 completions per prompt, got k={k}.")
    if estimator == "rloo":
        if scale:
            raise ValueError("scale applies to the grpo estimator only.")
        return (returns - leave_one_out_baseline(returns, mask, k)) * mask.to(returns.dtype)
    if estimator == "grpo":
        advantages = (returns - group_mean_baseline(returns, mask, k)) * mask.to(returns.dtype)
        if scale:
            advantages = advantages / (group_std(returns, mask, k) + eps)
        return advantages
    raise ValueError(f"Unknown group estimator {estimator!r}; choose rloo or grpo.")


def summed_group_advantages(
    sources: dict[str, torch.Tensor],
    mask: torch.Tensor,
    k: int,
    estimator: str = "rloo",
    gamma: float = 1.0,
    scale: bool = False,
) -> torch.Tensor:
    """The sum over reward sources of each source's :func:`group_advantages` of its returns-to-go.

    One source is the usual estimator; several (a combined reward's parts and the KL penalty) give
    each its own baseline, as PRIME does (Cui et al. 2025). Without ``scale`` the baselines are
    linear, so this equals the advantages of the summed rewards; with GRPO's scaling each source is
    divided by its own spread.

    Args:
        sources: name -> ``(b, t)`` per-token rewards, rows grouped by prompt (``k`` rows each).
        mask: ``(b, t)`` 1 on real tokens.

    Returns:
        ``(b, t)`` advantages, zero on padding.
    """
    parts = [
        group_advantages(discounted_returns(r, mask, gamma), mask, k, estimator, scale)
        for r in sources.values()
    ]
    return torch.stack(parts).sum(0) if len(parts) > 1 else parts[0]
