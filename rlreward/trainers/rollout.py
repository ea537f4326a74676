"""Generation and scoring of rollouts: sampling with per-sample seeds, log-probabilities, values.

Sampling uses one generator per completion, seeded from ``(seed, sample index)``, so a completion
does not depend on which other prompts share its batch or on how many processes split the batch:
1 process and N processes generate the same text for the same global step (up to float noise).
"""

from __future__ import annotations

import contextlib
import inspect
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from rlreward.rl.losses import token_logprobs


@dataclass
class Rollout:
    """One batch of sampled completions and everything the update needs.

    Shapes: ``b`` completions on this process, ``p`` prompt tokens (left-padded), ``t`` completion
    tokens (right-padded after EOS).
    """

    prompt_ids: torch.Tensor  # (b, p)
    prompt_mask: torch.Tensor  # (b, p)
    completion_ids: torch.Tensor  # (b, t)
    completion_mask: torch.Tensor  # (b, t) 1 up to and including EOS
    logprobs: torch.Tensor  # (b, t) under the sampling policy
    ref_logprobs: torch.Tensor  # (b, t) under the reference (adapter disabled)
    values: torch.Tensor | None = None  # (b, t) V(s_t), PPO only
    scores: torch.Tensor | None = None  # (b,) sequence scores
    token_rewards: torch.Tensor | None = None  # (b, t) instant rewards, before the KL penalty
    prompts: list[Any] = field(default_factory=list)
    completions: list[str] = field(default_factory=list)
    extra: dict[str, list[Any]] = field(default_factory=dict)  # dataset columns for the reward
    components: dict[str, torch.Tensor] = field(default_factory=dict)
    entropy: torch.Tensor | None = None  # (b, t)

    @property
    def lengths(self) -> torch.Tensor:
        return self.completion_mask.sum(1)

    def completion_id_lists(self) -> list[list[int]]:
        return [ids[: int(n)].tolist() for ids, n in zip(self.completion_ids, self.lengths)]


class ValueHead(nn.Module):
    """A linear value estimate on the policy's last hidden state."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.to(self.linear.weight.dtype)).squeeze(-1)


class ActorCritic(nn.Module):
    """The policy (a causal LM, usually a PEFT model) and an optional value head on its backbone.

    ``forward`` runs the backbone once over prompt + completion and returns, for the ``t``
    completion positions only, the logits that predicted each completion token and ``V(s_t)``;
    the LM head is applied to those positions alone (no ``(b, p + t, v)`` tensor).
    """

    def __init__(self, policy: nn.Module, value_head: ValueHead | None = None):
        super().__init__()
        self.policy = policy
        self.value_head = value_head

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, completion_len: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        base = self.policy.get_base_model() if hasattr(self.policy, "get_base_model") else self.policy
        hidden = base.get_decoder()(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
        ).last_hidden_state
        # The hidden state at position i predicts token i + 1 and is the state s for that action.
        # Contiguous: on a strided slice, a bf16 LM head on the CPU runs as a bmm that copies the
        # (b, hidden, vocab) expanded weight first (60x slower measured); fp32 gives the same values either way.
        hidden = hidden[:, -completion_len - 1 : -1].contiguous()
        logits = base.get_output_embeddings()(hidden)
        values = self.value_head(hidden) if self.value_head is not None else None
        return logits, values


class Samples(NamedTuple):
    """Sampled completions: ids ``(b, t)``, and per token the log-probability and entropy ``(b, t)``;
    ``values (b, t)``, ``V(s_t)`` of the state each token was sampled in, when a value head was given."""

    ids: torch.Tensor
    logprobs: torch.Tensor
    entropy: torch.Tensor
    values: torch.Tensor | None = None


class _LastHiddenStates(contextlib.AbstractContextManager):
    """Keeps the final (normed) hidden state of the last position from each forward of ``model``'s
    decoder while the context is open: the state every sampled token is drawn from."""

    def __init__(self, model: nn.Module):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.states: list[torch.Tensor] = []
        self.handle = base.get_decoder().register_forward_hook(self._keep)

    def _keep(self, module, args, output) -> None:
        hidden = output[0] if isinstance(output, tuple) else output.last_hidden_state
        self.states.append(hidden[:, -1])

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def _filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) > top_p  # keep the token that crosses top_p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    return logits


PARALLEL_NOISE_ELEMENTS = 1 << 22
"""Rows x vocabulary from which the per-row random draws run on a thread pool (e.g. 256 x 49152): one
CPU thread draws about 0.1 G uniforms a second, which would dominate a GPU's decode step."""


class _GumbelNoise:
    """Gumbel(0, 1) noise ``(b, vocab)`` for one :func:`sample` call, row ``i`` from its own CPU generator
    seeded with ``seeds[i]``: a row's noise depends on its seed and step alone, not on the batch, the
    device or the number of processes. Large batches draw their rows on a thread pool; each generator is
    used by one thread, in order, so the values are the same as drawn one row after another."""

    def __init__(self, seeds: list[int], vocab: int):
        self.generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
        self.buffer = torch.empty(len(seeds), vocab, dtype=torch.float32)
        workers = min(os.cpu_count() or 1, 16, len(seeds))
        parallel = workers > 1 and self.buffer.numel() >= PARALLEL_NOISE_ELEMENTS
        self.pool = ThreadPoolExecutor(workers) if parallel else None
        bounds = [len(seeds) * k // workers for k in range(workers + 1)] if parallel else [0, len(seeds)]
        self.chunks = [range(lo, hi) for lo, hi in zip(bounds, bounds[1:])]

    def _fill(self, rows: range) -> None:
        for i in rows:
            torch.rand(self.buffer.shape[1], generator=self.generators[i], out=self.buffer[i])

    def draw(self) -> torch.Tensor:
        """The next step's noise, in a buffer that the next call overwrites."""
        if self.pool is None:
            self._fill(self.chunks[0])
        else:
            list(self.pool.map(self._fill, self.chunks))
        # -log(-log(u)) in place: the same values as the out-of-place expression.
        return self.buffer.clamp_(1e-20, 1.0 - 1e-7).log_().neg_().log_().neg_()

    def __enter__(self) -> _GumbelNoise:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _cache_argument(model: nn.Module) -> str:
    """transformers 5.2x renamed ``past_key_values`` to ``cache``; use whichever this version takes."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


@torch.no_grad()
def sample(
    model: nn.Module,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    seeds: list[int],
    max_new_tokens: int,
    eos_token_ids: list[int],
    pad_token_id: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    value_head: nn.Module | None = None,
) -> Samples:
    """Sample completions with a KV cache, one random stream per row (Gumbel-max).

    Args:
        model: a causal LM (unwrapped; a PEFT model is fine).
        prompt_ids: ``(b, p)`` left-padded prompts.
        prompt_mask: ``(b, p)``.
        seeds: one seed per row; ``temperature == 0`` means greedy and ignores them.
        value_head: a :class:`ValueHead` on the model's final hidden states: its values of the states
            the tokens are sampled in come with the samples, at no extra forward pass (equal to
            :func:`score_tokens`'s up to float rounding: there the whole sequence is one forward).

    Returns:
        :class:`Samples`: ``(b, t)`` completion ids (``t <= max_new_tokens``, EOS kept,
        ``pad_token_id`` after it) and, for each sampled token, its log-probability and the entropy
        under the sampling policy at ``temperature`` (before top-k/top-p filtering), and its values.
    """
    b = prompt_ids.shape[0]
    device = prompt_ids.device
    cache_arg = _cache_argument(model)
    eos = torch.tensor(eos_token_ids, device=device)
    attention_mask = prompt_mask.long()
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    greedy = temperature == 0
    with contextlib.ExitStack() as contexts:
        hidden = contexts.enter_context(_LastHiddenStates(model)) if value_head is not None else None
        out = model(
            input_ids=prompt_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
            logits_to_keep=1,  # only the last position's logits: no (b, p, vocab) tensor
        )
        noise = None if greedy else contexts.enter_context(_GumbelNoise(seeds, out.logits.shape[-1]))
        finished = torch.zeros(b, dtype=torch.bool, device=device)
        tokens, logprobs, entropies = [], [], []
        for step in range(max_new_tokens):
            logits = out.logits[:, -1].float() / (temperature or 1.0)
            log_p = torch.log_softmax(logits, dim=-1)
            if not greedy:
                next_token = noise.draw().to(device).add_(_filter_logits(logits, top_k, top_p)).argmax(-1)
            else:
                next_token = logits.argmax(-1)
            next_token = torch.where(finished, torch.full_like(next_token, pad_token_id), next_token)
            tokens.append(next_token)
            logprobs.append(log_p.gather(-1, next_token[:, None]).squeeze(-1))
            entropies.append(-(log_p.exp() * log_p).sum(-1))
            finished |= torch.isin(next_token, eos)
            if finished.all() or step == max_new_tokens - 1:
                break  # the last token needs no forward pass of its own
            attention_mask = F.pad(attention_mask, (0, 1), value=1)
            position_ids = position_ids[:, -1:] + 1
            out = model(
                input_ids=next_token[:, None],
                attention_mask=attention_mask,
                position_ids=position_ids,
                use_cache=True,
                **{cache_arg: getattr(out, cache_arg)},
            )
    values = value_head(torch.stack(hidden.states, 1)).float() if hidden is not None else None
    return Samples(torch.stack(tokens, 1), torch.stack(logprobs, 1), torch.stack(entropies, 1), values)


def completion_mask_from_ids(completion_ids: torch.Tensor, eos_token_ids: list[int]) -> torch.Tensor:
    """``(b, t)`` mask that is 1 up to and including the first EOS (all ones if there is none)."""
    is_eos = torch.isin(completion_ids, torch.tensor(eos_token_ids, device=completion_ids.device))
    after_eos = (is_eos.long().cumsum(1) - is_eos.long()) > 0
    return (~after_eos).long()


@torch.no_grad()
def score_tokens(
    actor_critic: ActorCritic,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    temperature: float = 1.0,
    micro_batch_size: int = 8,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities (and values, for an actor-critic with a value head) of the completion tokens.

    Returns:
        ``logprobs (b, t)``, ``values (b, t) | None``.
    """
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    t = completion_ids.shape[1]
    logprobs, values = [], []
    for start in range(0, input_ids.shape[0], micro_batch_size):
        rows = slice(start, start + micro_batch_size)
        logits, value = actor_critic(input_ids[rows], attention_mask[rows], t)
        logprobs.append(token_logprobs(logits, completion_ids[rows], temperature))
        if value is not None:
            values.append(value.float())
    return torch.cat(logprobs), torch.cat(values) if values else None


def left_pad(sequences: list[list[int]], pad_token_id: int, device: torch.device | str = "cpu"):
    """Left-pad token lists into ``(ids, mask)`` tensors of shape ``(b, max_len)``."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        if s:
            ids[i, width - len(s) :] = torch.tensor(s)
            mask[i, width - len(s) :] = 1
    return ids.to(device), mask.to(device)
