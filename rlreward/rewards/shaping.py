"""Turning sequence scores into per-token ("instant") rewards, and combining rewards.

Densifying strategies, for a completion of ``T`` tokens ``y_1..y_T`` with sequence score ``R``:

* ``terminal``: ``r_T = R`` and ``r_t = 0`` before it. Classic RLHF (Ziegler et al. 2019).
* ``uniform``: ``r_t = R / T``. Spreads credit evenly; sums to ``R``.
* ``prefix_delta``: potential-based shaping with the reward itself as potential,
  ``r_t = phi(y_<=t) - phi(y_<t)`` with ``phi(empty) = 0``. The sum telescopes to ``phi(y) = R``, and
  the optimal policy is unchanged (Ng, Harada & Russell, 1999): the only thing that moves is *when*
  the credit arrives. Costs one reward evaluation per prefix unless the reward computes all
  prefix scores at once (see ``ClassifierReward`` for causal classifiers).
* ``attention``: ``r_t = R * a_t`` where ``a`` is the reward model's last-layer attention from the
  scored position over the completion tokens, renormalised to sum to one (Chan et al., "Dense Reward
  for Free in RLHF", ICML 2024). Needs a transformer reward model: ``ClassifierReward(per_token="attention")``.

Every strategy here sums to the sequence score, so the undiscounted return of a completion is
the same whichever strategy is used; what changes is the variance of the per-token credit.

Abstaining: a NaN sequence score (TRL's ``None``) means the reward has no opinion on that sample.
Densifying keeps the NaN score and gives the row zero per-token rewards; :class:`CombinedReward` sums
the rewards that did not abstain (per token too), and a sample on which every reward abstains is an
error. A lone reward must score every sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rlreward.rewards.base import (
    FunctionReward,
    InstantReward,
    RewardError,
    RewardOutput,
    as_instant,
    call_score,
    check_output,
    completion_text,
    ids_are_missing,
    token_lengths,
)

STRATEGIES = ("terminal", "uniform", "prefix_delta", "attention")


def terminal_rewards(sequence: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """Put each score on the last real token.

    Args:
        sequence: ``(b,)`` scores.
        lengths: completion lengths; a zero-length completion gets no reward (nothing to credit).

    Returns:
        ``(b, max(lengths))`` per-token rewards.
    """
    lengths_t = torch.as_tensor(list(lengths), dtype=torch.long)
    out = torch.zeros(len(lengths_t), int(lengths_t.max()) if len(lengths_t) else 0, dtype=sequence.dtype)
    rows = (lengths_t > 0).nonzero().flatten()
    out[rows, lengths_t[rows] - 1] = sequence[rows]
    return out


def uniform_rewards(sequence: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """Spread each score evenly over its completion's tokens: ``(b, max(lengths))``."""
    lengths_t = torch.as_tensor(list(lengths), dtype=torch.long)
    width = int(lengths_t.max()) if len(lengths_t) else 0
    mask = torch.arange(width)[None, :] < lengths_t[:, None]
    per_token = sequence / lengths_t.clamp(min=1).to(sequence.dtype)
    return mask.to(sequence.dtype) * per_token[:, None]


def deltas_from_potentials(potentials: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """``r_t = phi_t - phi_{t-1}`` with ``phi_{-1} = 0``, zeroed beyond each length.

    Args:
        potentials: ``(b, t)`` prefix scores, ``potentials[i, j]`` = score of the first ``j + 1`` tokens.
    """
    previous = torch.nn.functional.pad(potentials[:, :-1], (1, 0))
    lengths_t = torch.as_tensor(list(lengths), dtype=torch.long)
    mask = torch.arange(potentials.shape[1])[None, :] < lengths_t[:, None]
    return (potentials - previous) * mask.to(potentials.dtype)


def densify(out: RewardOutput, lengths: Sequence[int], strategy: str = "terminal") -> torch.Tensor:
    """Per-token rewards for ``out``: its own ``tokens`` when present, else ``strategy`` applied to its scores.

    A row whose score is NaN (the reward abstains) gets zero per-token rewards.
    """
    if out.tokens is not None:
        return out.tokens
    sequence = torch.nan_to_num(out.sequence, nan=0.0, posinf=torch.inf, neginf=-torch.inf)
    if strategy == "terminal":
        return terminal_rewards(sequence, lengths)
    if strategy == "uniform":
        return uniform_rewards(sequence, lengths)
    raise ValueError(
        f"densify strategy {strategy!r} needs the reward's help: wrap the reward with "
        "rlreward.rewards.with_per_token(reward, strategy, tokenizer) (the trainers do this for you)."
    )


class PrefixDeltaReward(InstantReward):
    """Instant rewards for *any* sequence reward by scoring every prefix of each completion.

    ``r_t = R(prefix_t) - R(prefix_{t-1})``. One reward call covers all prefixes of the batch
    (``sum(T_i)`` prefixes), each with its real token ids ``completion_ids[i][: j + 1]`` and its
    decoded text (the last prefix is the completion itself), so rewards that read ids and rewards
    that read text both score what the policy wrote. ``stride > 1`` scores every ``stride``-th prefix
    (and always the last) to save time; the credit of the skipped positions lands on the next scored
    one. A prefix on which the reward abstains (NaN) keeps the previous potential; a completion on
    which it abstains abstains here too (NaN score, zero per-token rewards).

    Args:
        reward: the sequence reward (TRL function or InstantReward).
        decode: ``list[int] -> str``, the policy tokenizer's decode (skip special tokens).
        stride: score every ``stride``-th prefix.
    """

    def __init__(self, reward: Any, decode: Callable[[list[int]], str], stride: int = 1):
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}.")
        self.inner = as_instant(reward)
        self.decode = decode
        self.stride = stride
        self.name = self.inner.name
        self.per_token = "prefix_delta"

    def children(self) -> list[InstantReward]:
        return [self.inner]

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        if ids_are_missing(completion_ids):  # called for sequence scores only (no ids, no prefixes)
            out = self.inner.score(prompts, completions, completion_ids, **kwargs)
            return RewardOutput(out.sequence, None, dict(out.components))
        lengths = token_lengths(completion_ids)
        positions: list[list[int]] = []  # per sample, the scored prefix ends j (prefix = ids[: j + 1])
        keys: list[tuple[int, int]] = []  # (sample, j) for each row of the flat batch
        for i, ids in enumerate(completion_ids):
            n = len(ids)
            pos = sorted({*range(self.stride - 1, n, self.stride), n - 1}) if n else []
            positions.append(pos)
            keys.extend((i, j) for j in pos)
        flat_kwargs = {
            k: [v[i] for i, _ in keys] if isinstance(v, list) and len(v) == len(completions) else v
            for k, v in kwargs.items()
        }
        flat_ids = [list(completion_ids[i][: j + 1]) for i, j in keys]
        flat_completions = [
            completions[i] if j == lengths[i] - 1 else _like(completions[i], self.decode(prefix))
            for (i, j), prefix in zip(keys, flat_ids)
        ]
        flat_prompts = [prompts[i] for i, _ in keys]
        flat = self.inner.score(flat_prompts, flat_completions, flat_ids, **flat_kwargs)
        check_output(flat, self.name, flat_completions, flat_ids, allow_nan=True)
        phi = torch.zeros(len(completion_ids), max(lengths, default=0))
        sequence = torch.zeros(len(completion_ids))
        flat_index, row = [], 0
        for i, pos in enumerate(positions):
            last, rows = 0.0, list(range(row, row + len(pos)))
            for j_prev, j, r in zip([-1, *pos], pos, rows):
                value = float(flat.sequence[r])
                if math.isnan(value):  # NaN: the reward abstains on this prefix; keep the potential
                    value = last
                phi[i, j_prev + 1 : j + 1] = last  # skipped positions keep the previous potential
                phi[i, j] = value
                last = value
            sequence[i] = float(flat.sequence[rows[-1]]) if rows else 0.0
            flat_index.append(rows)
            row += len(pos)
        tokens = deltas_from_potentials(phi, lengths)
        tokens[torch.isnan(sequence)] = 0.0  # abstains on the whole completion
        return RewardOutput(sequence=sequence, tokens=tokens, components=_last_components(flat, flat_index))


def _like(completion: Any, text: str) -> Any:
    """``text`` in the same form (plain or conversational) as ``completion``."""
    if isinstance(completion, list):
        return [{"role": "assistant", "content": text}]
    return text


def _last_components(flat: RewardOutput, flat_index: list[list[int]]) -> dict[str, torch.Tensor]:
    last_rows = [rows[-1] if rows else 0 for rows in flat_index]
    return {k: v[last_rows] for k, v in flat.components.items()}


class DensifiedReward(InstantReward):
    """A reward whose sequence scores are spread over tokens by ``terminal`` or ``uniform``."""

    def __init__(self, reward: Any, strategy: str):
        if strategy not in ("terminal", "uniform"):
            raise ValueError(f"DensifiedReward takes 'terminal' or 'uniform', got {strategy!r}.")
        self.inner = as_instant(reward)
        self.strategy = strategy
        self.name = self.inner.name
        self.per_token = strategy

    def children(self) -> list[InstantReward]:
        return [self.inner]

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        out = self.inner.score(prompts, completions, completion_ids, **kwargs)
        check_output(out, self.name, completions, completion_ids, allow_nan=True)  # NaN: abstains
        tokens = densify(out, token_lengths(completion_ids), self.strategy)
        return RewardOutput(out.sequence, tokens, dict(out.components))


def with_per_token(
    reward: Any, strategy: str, decode: Callable[[list[int]], str] | None = None
) -> InstantReward:
    """Return ``reward`` as an InstantReward whose :meth:`score` always yields per-token rewards.

    A reward that already returns per-token rewards keeps them. Otherwise ``strategy`` decides:
    ``terminal`` / ``uniform`` spread the sequence score; ``prefix_delta`` re-scores prefixes (the
    reward's own fast path when it has one, e.g. ``ClassifierReward``/``SentimentLexiconReward``);
    ``attention`` needs a ``ClassifierReward``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown densify strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    reward = as_instant(reward)
    if reward.per_token is not None:  # the reward computes its own per-token credit
        return reward
    if isinstance(reward, CombinedReward):
        return CombinedReward([with_per_token(p, strategy, decode) for p in reward.parts], reward.weights)
    if hasattr(reward, "with_per_token"):  # rewards with a fast path of their own
        return reward.with_per_token(strategy)
    if strategy in ("terminal", "uniform"):
        return DensifiedReward(reward, strategy)
    if strategy == "prefix_delta":
        if decode is None:
            raise ValueError("The prefix_delta strategy needs the policy tokenizer's decode function.")
        return PrefixDeltaReward(reward, decode)
    raise ValueError(
        f"Reward '{reward.name}' cannot give attention credit: only a transformer reward model can "
        "(rlreward.rewards.ClassifierReward(..., per_token='attention')). Use terminal, uniform or prefix_delta."
    )


class CombinedReward(InstantReward):
    """A weighted sum of rewards, sequence scores and per-token rewards alike.

    A part that returns NaN for a sample (TRL's ``None``) abstains: the sample's score is the weighted
    sum of the parts that did not (TRL's ``nansum``), and its per-token rewards the weighted sum of
    theirs. A sample on which every part abstains is an error. Each part is logged as a component
    under its name (NaN where it abstained), and its weighted per-token rewards are returned as
    ``token_components`` (zero where it abstained), which sum to ``tokens``.
    """

    def __init__(self, rewards: Sequence[Any], weights: Sequence[float] | None = None):
        self.parts = [as_instant(r) for r in rewards]
        if not self.parts:
            raise ValueError("CombinedReward needs at least one reward.")
        self.weights = list(weights) if weights is not None else [1.0] * len(self.parts)
        if len(self.weights) != len(self.parts):
            raise ValueError(
                f"Got {len(self.weights)} weights for {len(self.parts)} rewards; give one weight per reward."
            )
        names = [p.name for p in self.parts]
        self.names = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
        self.name = "+".join(self.names)

    @property
    def per_token(self) -> str | None:
        modes = {p.per_token for p in self.parts}
        return None if None in modes else "mixed"

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        lengths = token_lengths(completion_ids)
        outs = []
        for part in self.parts:
            out = call_score(part, prompts, completions, completion_ids, **kwargs)
            outs.append(check_output(out, part.name, completions, completion_ids, allow_nan=True))
        seqs = torch.stack([o.sequence for o in outs])  # (k, b)
        all_nan = torch.isnan(seqs).all(dim=0)
        if all_nan.any():
            i = int(all_nan.nonzero()[0, 0])
            raise RewardError(
                f"Every reward ({self.name}) returned None/NaN for sample {i}: "
                f"{completion_text(completions[i])[:200]!r}."
            )
        w = torch.tensor(self.weights, dtype=torch.float32)[:, None]
        sequence = torch.nansum(w * seqs, dim=0)
        tokens = None
        token_components: dict[str, torch.Tensor] = {}
        if all(o.tokens is not None for o in outs):
            tokens = torch.zeros(len(completions), max(lengths, default=0))
            for name, weight, o in zip(self.names, self.weights, outs):
                abstains = torch.isnan(o.sequence)[:, None]
                part = torch.where(abstains, 0.0, weight * o.tokens)  # never NaN * 0
                token_components[name] = part
                tokens += part
        components: dict[str, torch.Tensor] = {}
        for name, o in zip(self.names, outs):
            components[name] = o.sequence
            components.update({f"{name}/{k}": v for k, v in o.components.items()})
        return RewardOutput(sequence, tokens, components, token_components)

    def children(self) -> list[InstantReward]:
        return list(self.parts)


class RunningMoments:
    """Running mean and variance (Chan et al. parallel update), for reward normalisation.

    State is a plain dict so it can be checkpointed.
    """

    def __init__(self):
        self.mean, self.var, self.count = 0.0, 1.0, 0

    def update(self, values: torch.Tensor) -> None:
        values = values.detach().double().flatten()
        n = values.numel()
        if n == 0:
            return
        batch_mean, batch_var = values.mean().item(), values.var(unbiased=False).item()
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.var = m2 / total
        self.count = total

    @property
    def std(self) -> float:
        return max(self.var, 1e-12) ** 0.5

    def state_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], int(state["count"])


class NormalizedReward(InstantReward):
    """Scale a reward by running statistics of its sequence scores, then clip.

    ``r' = (r - mean) / std`` (``center=False`` only divides), applied to sequence scores and, with the
    same affine map on the total, to per-token rewards: the mean is subtracted from the last token so
    that per-token rewards still sum to the normalised sequence score. ``clip`` bounds the sequence
    score to ``[-clip, clip]``; the per-token rewards of a clipped completion are scaled by the same
    factor, so they still sum to it.

    The statistics are updated by every call (with the scores on which the reward did not abstain)
    unless the reward is frozen (:meth:`~rlreward.rewards.InstantReward.freeze`; trainers freeze it
    while they evaluate), and they are part of :meth:`state_dict`, which trainers checkpoint.
    """

    def __init__(self, reward: Any, center: bool = True, clip: float | None = None):
        if clip is not None and clip <= 0:
            raise ValueError(f"clip must be positive or None, got {clip}.")
        self.inner = as_instant(reward)
        self.center, self.clip = center, clip
        self.moments = RunningMoments()
        self.name = self.inner.name
        self.per_token = self.inner.per_token

    def children(self) -> list[InstantReward]:
        return [self.inner]

    def state_dict(self) -> dict[str, Any]:
        return {"moments": self.moments.state_dict(), **super().state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "mean" in state:  # checkpoints before rewards had state_dict(): the moments alone
            state = {"moments": state}
        self.moments.load_state_dict(state["moments"])
        super().load_state_dict({k: v for k, v in state.items() if k != "moments"})

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        out = self.inner.score(prompts, completions, completion_ids, **kwargs)
        if not self.frozen:
            self.moments.update(out.sequence[~torch.isnan(out.sequence)])
        shift = self.moments.mean if self.center else 0.0
        scale = 1.0 / self.moments.std
        sequence = (out.sequence - shift) * scale
        tokens = None
        if out.tokens is not None:
            tokens = out.tokens * scale
            lengths = torch.as_tensor(token_lengths(completion_ids))
            rows = ((lengths > 0) & ~torch.isnan(out.sequence)).nonzero().flatten()
            tokens[rows, lengths[rows] - 1] -= shift * scale
        if self.clip is not None:
            clipped = sequence.clamp(-self.clip, self.clip)  # NaN (abstains) stays NaN
            if tokens is not None:  # |sequence| > clip > 0 where clipping changed it: no division by 0
                changed = (clipped != sequence) & ~torch.isnan(sequence)
                factor = torch.where(changed, clipped / torch.where(changed, sequence, 1.0), 1.0)
                tokens = tokens * factor[:, None]
            sequence = clipped
        components = {**out.components, f"{self.name}/raw": out.sequence}
        return RewardOutput(sequence, tokens, components)


class NoisyReward(InstantReward):
    """A reward with controlled noise, for robustness experiments: Gaussian noise and flips.

    * ``sigma``: Gaussian noise of standard deviation ``sigma x std`` on each sequence score, ``std``
      the running standard deviation of the clean scores (or ``scale`` when given). With per-token
      rewards each token gets an independent share of variance ``(sigma x std)^2 / T``, so the sum has
      the same noise distribution as a sequence score's and tokens still sum to the noisy score.
    * ``flip`` with ``flip_mode="sign"``: with probability ``flip`` a sample's reward is negated (every
      token's); ``flip_mode="label"`` (pass/fail rewards in {0, 1}): ``R -> 1 - R``, the tokens
      negated and 1 added on the last one.

    Draws come from ``seed`` and a call counter (checkpointed), so a run and its resumed copy see the
    same noise. A frozen reward (evaluation) is clean.
    """

    def __init__(
        self,
        reward: Any,
        sigma: float = 0.0,
        flip: float = 0.0,
        flip_mode: str = "sign",
        scale: float | None = None,
        seed: int = 0,
    ):
        if sigma < 0 or not 0 <= flip <= 1:
            raise ValueError(f"sigma must be >= 0 and flip in [0, 1]; got sigma={sigma}, flip={flip}.")
        if flip_mode not in ("sign", "label"):
            raise ValueError(f"flip_mode must be 'sign' or 'label', got {flip_mode!r}.")
        self.inner = as_instant(reward)
        self.sigma, self.flip, self.flip_mode, self.scale, self.seed = sigma, flip, flip_mode, scale, seed
        self.moments, self.calls = RunningMoments(), 0
        self.name, self.per_token = self.inner.name, self.inner.per_token

    def children(self) -> list[InstantReward]:
        return [self.inner]

    def state_dict(self) -> dict[str, Any]:
        return {"moments": self.moments.state_dict(), "calls": self.calls, **super().state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.moments.load_state_dict(state["moments"])
        self.calls = int(state["calls"])
        super().load_state_dict({k: v for k, v in state.items() if k not in ("moments", "calls")})

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        out = self.inner.score(prompts, completions, completion_ids, **kwargs)
        if self.frozen:
            return out
        self.moments.update(out.sequence[~torch.isnan(out.sequence)])
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.calls)
        self.calls += 1
        b = len(out.sequence)
        std = self.scale if self.scale is not None else (self.moments.std if self.moments.count > 1 else 0.0)
        flipped = torch.rand(b, generator=generator) < self.flip
        sequence, tokens = out.sequence.clone(), None if out.tokens is None else out.tokens.clone()
        lengths = torch.as_tensor(token_lengths(completion_ids)) if tokens is not None else None
        if tokens is not None:
            width = tokens.shape[1]
            mask = torch.arange(width)[None, :] < lengths[:, None]
            noise = torch.randn(b, width, generator=generator) * self.sigma * std
            tokens += noise * mask / lengths.clamp(min=1).sqrt()[:, None]
            tokens[flipped] = -tokens[flipped]
            if self.flip_mode == "label":
                rows = (flipped & (lengths > 0)).nonzero().flatten()
                tokens[rows, lengths[rows] - 1] += 1.0
            sequence = torch.where(torch.isnan(out.sequence), out.sequence, tokens.sum(1))
        else:
            sequence = sequence + torch.randn(b, generator=generator) * self.sigma * std
            sequence = torch.where(
                flipped, (1.0 - sequence) if self.flip_mode == "label" else -sequence, sequence
            )
        components = {
            **out.components,
            f"{self.name}/clean": out.sequence,
            f"{self.name}/flipped": flipped.float(),
        }
        return RewardOutput(sequence, tokens, components)


__all__ = [
    "STRATEGIES",
    "CombinedReward",
    "DensifiedReward",
    "FunctionReward",
    "NoisyReward",
    "NormalizedReward",
    "PrefixDeltaReward",
    "RunningMoments",
    "deltas_from_potentials",
    "densify",
    "terminal_rewards",
    "uniform_rewards",
    "with_per_token",
]
