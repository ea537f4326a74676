"""Rewards from a sequence classifier, with per-token ("instant") credit.

Any ``AutoModelForSequenceClassification`` becomes a reward: the sequence score ``R`` is the model's
logit (or probability) for ``label``, pooled as the model pools it (last non-pad token for causal
classifiers such as ``LlamaForSequenceClassification``, ``[CLS]`` for encoders such as BERT).

Per-token rewards for a completion of policy tokens ``y_0..y_{T-1}`` (``per_token=``):

1. ``"prefix_delta"``: potential-based shaping with the classifier as potential,
   ``r_j = phi_j - phi_{j-1}``, ``phi_{-1} = 0``, ``phi_{T-1} = R``; the sum telescopes to ``R``.
   ``phi_j`` is the classifier's score of the reward-model tokens ``x_{<=k(j)}``, where ``k(j)`` is the
   last reward token whose characters all lie in the text of ``y_0..y_j`` (``k(j) = j`` when the two
   tokenizers are the same). A causal classifier applies its head at every position and position
   ``k`` only sees ``x_{<=k}``, so one forward pass yields every prefix score; encoders re-score each
   distinct prefix, batched.
2. ``"attention"`` (Chan et al., "Dense Reward for Free in RLHF", ICML 2024): ``r_j = R * a_j`` where
   ``a`` is the last-layer attention (mean over heads) from the pooled position over the completion's
   reward tokens, renormalised to sum to one, and carried onto policy tokens by character overlap.

Simplifications, stated once:

* With ``include_prompt=True`` the prompt is context only: ``phi_{-1} = 0``, not the score of the
  prompt alone, so the per-token rewards still sum to ``R`` (the first token carries the prompt's score).
* Policy tokens that end inside a reward token (a word split differently, a partial UTF-8 character)
  keep the previous potential, so their reward is zero until the reward token completes.
* The last policy token's potential is ``R`` itself, which folds in whatever the reward tokenizer
  appends (an EOS, ``[SEP]``) and keeps the sum exact.
* An empty completion has no token to credit: its row is zero while ``R`` is still reported.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rlreward.rewards.base import (
    InstantReward,
    RewardOutput,
    completion_text,
    prompt_text,
    token_lengths,
)
from rlreward.rewards.shaping import DensifiedReward, deltas_from_potentials

PER_TOKEN_MODES = (None, "prefix_delta", "attention")
OUTPUTS = ("logit", "probability")
_REPLACEMENT_CHAR = "\ufffd"  # what a byte-level tokenizer decodes a partial UTF-8 character to


def policy_token_char_ends(
    completion_ids: Sequence[Sequence[int]], decode: Callable[[list[int]], str]
) -> list[list[int]]:
    """Character end of every policy token in its completion's decoded text.

    ``ends[i][j] = len(decode(completion_ids[i][: j + 1]))``, non-decreasing. A prefix that decodes to
    a trailing U+FFFD (a multi-byte character split across byte-level tokens) has not completed that
    character yet, so the replacement characters are not counted.

    Args:
        completion_ids: the policy's completion tokens, one list per completion.
        decode: the policy tokenizer's decode (``ids -> text``, special tokens skipped).

    Returns:
        One list of ``len(completion_ids[i])`` character offsets per completion.
    """
    ends = []
    for ids in completion_ids:
        row, best = [], 0
        for j in range(len(ids)):
            best = max(best, len(decode(list(ids[: j + 1])).rstrip(_REPLACEMENT_CHAR)))
            row.append(best)
        ends.append(row)
    return ends


def map_potentials(reward_ends: torch.Tensor, policy_ends: torch.Tensor) -> torch.Tensor:
    """For each policy token, the last reward token that ends within it: ``(n,)`` indices, ``-1`` if none.

    Args:
        reward_ends: ``(m,)`` character end of each reward token, non-decreasing.
        policy_ends: ``(n,)`` character end of each policy token (:func:`policy_token_char_ends`).
    """
    return torch.searchsorted(reward_ends.contiguous(), policy_ends.contiguous(), right=True) - 1


def overlap_weights(reward_spans: torch.Tensor, policy_ends: torch.Tensor) -> torch.Tensor:
    """``(n, m)`` matrix sending reward-token mass to policy tokens in proportion to character overlap.

    Every column sums to one, so total mass is preserved. A reward token that overlaps no policy
    token (zero width, or beyond the decoded text) goes to the policy token that completes it.

    Args:
        reward_spans: ``(m, 2)`` ``[start, end)`` character span of each reward token.
        policy_ends: ``(n,)`` character end of each policy token; token ``j`` spans ``[ends[j-1], ends[j])``.
    """
    n, m = policy_ends.shape[0], reward_spans.shape[0]
    policy_starts = torch.nn.functional.pad(policy_ends[:-1], (1, 0))
    lo = torch.maximum(policy_starts[:, None], reward_spans[None, :, 0])
    hi = torch.minimum(policy_ends[:, None], reward_spans[None, :, 1])
    overlap = (hi - lo).clamp(min=0).float()  # (n, m)
    orphans = overlap.sum(0) == 0
    if orphans.any():
        owner = torch.searchsorted(policy_ends.contiguous(), reward_spans[:, 1].contiguous()).clamp(max=n - 1)
        overlap[owner[orphans], torch.arange(m)[orphans]] = 1.0
    return overlap / overlap.sum(0, keepdim=True)


@dataclass
class _Encoded:
    """Reward-model inputs for a batch of ``b`` completions.

    Attributes:
        ids: reward-model token ids per sample (special tokens included, truncated).
        lo, hi: ``(b,)`` the completion's reward tokens are ``ids[i][lo[i]:hi[i]]``.
        anchors: ``(b, t)`` reward position whose prefix score is ``phi_j``; ``-1`` where no reward token
            has completed yet. ``None`` when per-token rewards are not needed.
        reward_spans: per sample, ``(hi - lo, 2)`` character spans of the completion's reward tokens;
            ``None`` when reward and policy tokens coincide.
        policy_ends: per sample, ``(n,)`` character ends of the policy tokens (with ``reward_spans``).
    """

    ids: list[list[int]]
    lo: torch.Tensor
    hi: torch.Tensor
    anchors: torch.Tensor | None = None
    reward_spans: list[torch.Tensor] | None = None
    policy_ends: list[torch.Tensor] | None = None


class ClassifierReward(InstantReward):
    """A sequence classifier as reward, with per-token credit from one forward pass when causal.

    Args:
        model: a loaded ``PreTrainedModel`` with a sequence-classification head, or a Hub id / local
            path loaded with ``AutoModelForSequenceClassification``.
        tokenizer: the reward model's tokenizer (a fast tokenizer, for character offsets); loaded from
            ``model`` when that is a string.
        label: class index, or a label name from ``config.label2id``.
        output: ``"logit"``, or ``"probability"`` (softmax of ``label``; sigmoid for a single-logit head).
        include_prompt: score ``prompt + completion`` rather than the completion alone. ``None``: what
            the model was trained on (``config.rlreward_include_prompt``, written by
            ``recipes/train_reward_model.py``), else ``False``.
        per_token: ``"prefix_delta"``, ``"attention"`` or ``None`` (sequence scores only).
        batch_size: sequences per forward pass.
        max_length: longest reward-model input; the prompt is cut from the left, then the completion
            from the right. Defaults to the model's position limit.
        device: where inputs go; defaults to the model's device (the model is moved when given).
        policy_tokenizer: the policy's tokenizer. With the reward model's vocabulary, ``completion_ids``
            are scored as they are; otherwise rewards are aligned through decoded text and character
            offsets. ``None`` means the policy shares the reward model's tokenizer (checked per call).
        name: used in logs.

    Example::

        reward = ClassifierReward(model, tokenizer, label="positive", output="probability")
        out = reward.score(prompts, completions, completion_ids)  # out.tokens: (b, t), sums to out.sequence
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        label: int | str = 0,
        output: str = "logit",
        include_prompt: bool | None = None,
        per_token: str | None = "prefix_delta",
        batch_size: int = 32,
        max_length: int | None = None,
        device: str | torch.device | None = None,
        policy_tokenizer: Any = None,
        name: str = "classifier",
    ):
        if per_token not in PER_TOKEN_MODES:
            hint = (
                f"; {per_token!r} is a densify strategy: use reward.with_per_token({per_token!r})"
                if per_token in ("terminal", "uniform")
                else ""
            )
            raise ValueError(f"per_token must be one of {PER_TOKEN_MODES}, got {per_token!r}{hint}.")
        if output not in OUTPUTS:
            raise ValueError(f"output must be 'logit' or 'probability', got {output!r}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if isinstance(model, str):
            model, tokenizer = _load(model, tokenizer, eager=per_token == "attention")
        _check_head(model)
        if tokenizer is None:
            raise ValueError(
                f"ClassifierReward needs the tokenizer of the {type(model).__name__} reward model: "
                "pass tokenizer=AutoTokenizer.from_pretrained(<same path as the model>)."
            )
        if device is not None:
            model.to(device)
        self.model, self.tokenizer = model, tokenizer
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.label = _resolve_label(model.config, label)
        if include_prompt is None:
            include_prompt = trained_with_prompt(model.config)
        self.output, self.include_prompt, self.per_token = output, include_prompt, per_token
        self.batch_size, self.name = batch_size, name
        self.max_length = max_length or _position_limit(model, tokenizer)
        self.pad_token_id = _ensure_pad_token_id(model, tokenizer)
        self.causal = _is_causal_classifier(model)
        self.single_pass = self.causal  # cleared if the score head turns out not to reproduce the pooling
        self.lead, self.tail = _special_frame(tokenizer)
        if self.max_length <= len(self.lead) + len(self.tail):
            raise ValueError(f"max_length={self.max_length} leaves no room for text after special tokens.")
        self.policy_tokenizer = policy_tokenizer
        self.same_tokenizer = policy_tokenizer is None or _same_vocab(policy_tokenizer, tokenizer)

    # ---------------------------------------------------------------- public API

    def with_per_token(self, strategy: str) -> InstantReward:
        """This reward giving per-token rewards by ``strategy`` (model and tokenizer are shared, not copied)."""
        if strategy in ("prefix_delta", "attention"):
            return self._replace(per_token=strategy)
        if strategy in ("terminal", "uniform"):
            return DensifiedReward(self._replace(per_token=None), strategy)
        raise ValueError(
            f"Unknown per-token strategy {strategy!r}; choose prefix_delta, attention, terminal or uniform."
        )

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        return self._score(prompts, completions, completion_ids, self.per_token)

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float]:
        # TRL only needs sequence scores; without completion_ids the text is tokenized here.
        return self._score(prompts, completions, completion_ids, None).sequence.tolist()

    # ---------------------------------------------------------------- scoring

    def _score(self, prompts, completions, completion_ids, per_token: str | None) -> RewardOutput:
        b = len(completions)
        if len(prompts) != b or (completion_ids is not None and len(completion_ids) != b):
            sizes = f"prompts ({len(prompts)}), completions ({b})"
            if completion_ids is not None:
                sizes += f", completion_ids ({len(completion_ids)})"
            raise ValueError(
                f"Reward '{self.name}' got {sizes}; give one prompt and one id list per completion."
            )
        if b == 0:
            return RewardOutput(torch.zeros(0), torch.zeros(0, 0) if per_token else None)
        lengths = token_lengths(completion_ids) if completion_ids is not None else [0] * b
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                enc = self._encode(prompts, completions, completion_ids, per_token is not None)
                if per_token is None:
                    sequence = self._forward(enc.ids)[0]
                    return RewardOutput(sequence)
                if per_token == "attention":
                    sequence, tokens = self._attention_rewards(enc, lengths)
                else:
                    sequence, tokens = self._prefix_delta_rewards(enc, lengths)
                return RewardOutput(sequence, tokens)
        finally:
            self.model.train(was_training)

    def _prefix_delta_rewards(self, enc: _Encoded, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``r = deltas(phi)`` with ``phi_j`` the score of reward prefix ``x_{<=anchor_j}``, ``phi_{T-1} = R``."""
        prefix_scores = None
        if self.single_pass:
            try:
                sequence, prefix_scores, _ = self._forward(enc.ids, per_position=True)
            except _NotSinglePass as err:
                warnings.warn(f"{err} Falling back to re-scoring every prefix.", stacklevel=3)
                self.single_pass = False
        if prefix_scores is None:
            sequence, prefix_scores = self._rescore_prefixes(enc, lengths)
        anchors = enc.anchors
        phi = prefix_scores.gather(1, anchors.clamp(min=0)) * (anchors >= 0)  # (b, t)
        rows = torch.tensor([i for i, n in enumerate(lengths) if n > 0], dtype=torch.long)
        last = torch.tensor(lengths, dtype=torch.long)[rows] - 1
        phi[rows, last] = sequence[rows]
        return sequence, deltas_from_potentials(phi, lengths)

    def _rescore_prefixes(self, enc: _Encoded, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Score every distinct prefix ``x_{<=k}`` that some policy token uses, in one batched pass.

        Returns the sequence scores ``(b,)`` and ``(b, L)`` prefix scores (filled where used).
        """
        rows: dict[tuple[int, ...], int] = {}
        full = [rows.setdefault(tuple(ids), len(rows)) for ids in enc.ids]
        tail = [] if self.causal else self.tail
        wanted = []  # (sample, position, row)
        for i, (ids, n) in enumerate(zip(enc.ids, lengths)):
            for k in torch.unique(enc.anchors[i, :n]).tolist():
                if k >= 0:
                    wanted.append((i, k, rows.setdefault((*ids[: k + 1], *tail), len(rows))))
        scores = self._forward([list(r) for r in rows])[0]
        prefix_scores = torch.zeros(len(enc.ids), max(len(ids) for ids in enc.ids))
        if wanted:
            i, k, r = (torch.tensor(c) for c in zip(*wanted))
            prefix_scores[i, k] = scores[r]
        return scores[full], prefix_scores

    def _attention_rewards(self, enc: _Encoded, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``r_j = R * a_j``: pooled-position attention over the completion, renormalised, onto policy tokens."""
        sequence, _, attention = self._forward(enc.ids, attention=True)
        positions = torch.arange(attention.shape[1])
        in_completion = (positions[None, :] >= enc.lo[:, None]) & (positions[None, :] < enc.hi[:, None])
        weights = attention * in_completion
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1e-30)  # (b, L), sums to 1 over completion
        b, width = len(lengths), max(lengths)
        lengths_t = torch.tensor(lengths, dtype=torch.long)
        j = torch.arange(width)
        if enc.reward_spans is None:  # policy token j is reward token lo + j
            index = (enc.lo[:, None] + j[None, :]).clamp(max=attention.shape[1] - 1)
            valid = j[None, :] < torch.minimum(lengths_t, enc.hi - enc.lo)[:, None]
            token_weights = weights.gather(1, index) * valid
        else:
            token_weights = torch.zeros(b, width)
            for i, (spans, ends) in enumerate(zip(enc.reward_spans, enc.policy_ends)):
                if len(spans) and len(ends):
                    lo, hi = int(enc.lo[i]), int(enc.hi[i])
                    token_weights[i, : len(ends)] = overlap_weights(spans, ends) @ weights[i, lo:hi]
        # no completion reward token to attend to: the whole score goes to the last token
        empty = (token_weights.sum(1) == 0) & (lengths_t > 0)
        token_weights[empty, lengths_t[empty] - 1] = 1.0
        return sequence, sequence[:, None] * token_weights

    def _forward(
        self, rows: list[list[int]], per_position: bool = False, attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Run the classifier on ``rows`` (right-padded, in length-sorted batches).

        Returns:
            sequence ``(N,)`` scores; with ``per_position``, ``(N, L)`` scores of every prefix (causal
            classifiers); with ``attention``, ``(N, L)`` last-layer attention from the pooled position.
        """
        n, width = len(rows), max(len(r) for r in rows)
        sequence = torch.zeros(n)
        prefix = torch.zeros(n, width) if per_position else None
        attn = torch.zeros(n, width) if attention else None
        order = sorted(range(n), key=lambda i: -len(rows[i]))
        with _eager_attention(self.model) if attention else contextlib.nullcontext():
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                ids = torch.nn.utils.rnn.pad_sequence(
                    [torch.tensor(rows[i], dtype=torch.long) for i in idx],
                    batch_first=True,
                    padding_value=self.pad_token_id,
                )
                mask = (
                    torch.arange(ids.shape[1])[None, :] < torch.tensor([len(rows[i]) for i in idx])[:, None]
                ).long()
                logits, per, out = self._run_model(ids, mask, per_position, attention)
                idx_t = torch.tensor(idx)
                sequence[idx_t] = self._value(logits)
                # The pooled position, as HF's causal classifiers choose it: the rightmost non-pad token.
                pooled = (torch.arange(ids.shape[1]) * (ids != self.pad_token_id)).argmax(-1)
                if per_position:
                    if (
                        per is None
                        or per.ndim != 3
                        or not torch.allclose(
                            per[torch.arange(len(idx)), pooled], logits, rtol=1e-3, atol=1e-4
                        )
                    ):
                        raise _NotSinglePass(
                            f"{type(self.model).__name__}'s score head does not produce its pooled logits."
                        )
                    prefix[idx_t, : ids.shape[1]] = self._value(per)
                if attention:
                    attn[idx_t, : ids.shape[1]] = self._query_attention(out, pooled)
        return sequence, prefix, attn

    def _run_model(
        self, ids: torch.Tensor, mask: torch.Tensor, per_position: bool, attention: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, Any]:
        """One forward pass: pooled logits ``(B, C)``, the score head's ``(B, L, C)`` output when asked, and the raw output."""
        captured: list[torch.Tensor] = []
        hook = None
        if per_position:  # the head of a causal classifier runs on every position before pooling
            hook = self.model.score.register_forward_hook(lambda _m, _a, output: captured.append(output))
        try:
            out = self.model(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                **({"output_attentions": True} if attention else {}),
            )
        finally:
            if hook is not None:
                hook.remove()
        per = captured[-1].float().cpu() if captured else None
        return out.logits.float().cpu(), per, out

    def _query_attention(self, out: Any, pooled: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` last-layer attention, mean over heads, from the position the model pools."""
        if not out.attentions:
            raise RuntimeError(
                f"{type(self.model).__name__} returned no attention weights; load it with "
                "attn_implementation='eager' to use per_token='attention'."
            )
        last = out.attentions[-1].float().mean(1).cpu()  # (B, L, L)
        query = pooled if self.causal else torch.zeros_like(pooled)  # encoders pool [CLS]
        return last[torch.arange(last.shape[0]), query]

    def _value(self, logits: torch.Tensor) -> torch.Tensor:
        """``(..., num_labels)`` logits -> ``(...)`` score of ``self.label``."""
        if self.output == "logit":
            return logits[..., self.label]
        if logits.shape[-1] == 1:
            return torch.sigmoid(logits[..., 0])
        return torch.softmax(logits, dim=-1)[..., self.label]

    # ---------------------------------------------------------------- tokenization and alignment

    def _encode(self, prompts, completions, completion_ids, per_token: bool) -> _Encoded:
        texts = [completion_text(c) for c in completions]
        prefixes = [self._prompt_prefix(p) for p in prompts] if self.include_prompt else [""] * len(texts)
        if completion_ids is not None and self.same_tokenizer:
            if self.policy_tokenizer is None:
                self._check_shared_tokenizer(texts, completion_ids)
            prompt_ids = _batch_ids(self.tokenizer, prefixes)
            parts = [self._assemble(p, _as_list(c)) for p, c in zip(prompt_ids, completion_ids)]
            enc = _Encoded([p[0] for p in parts], *_lo_hi(parts))
            if per_token:
                width = max(token_lengths(completion_ids))
                anchors = enc.lo[:, None] + torch.arange(width)[None, :]
                enc.anchors = torch.where(anchors < enc.hi[:, None], anchors, enc.hi[:, None] - 1)
            return enc
        if not getattr(self.tokenizer, "is_fast", True):
            raise ValueError(
                f"Reward '{self.name}' must re-tokenize text, which needs character offsets: pass a fast "
                "tokenizer (AutoTokenizer.from_pretrained(path, use_fast=True))."
            )
        # Tokenize the text; completion reward tokens are those ending after the prompt's characters.
        batch = self.tokenizer(
            [p + t for p, t in zip(prefixes, texts)], add_special_tokens=False, return_offsets_mapping=True
        )
        parts, spans = [], []
        for p, ids, offsets in zip(prefixes, batch["input_ids"], batch["offset_mapping"]):
            split = next((k for k, (_, end) in enumerate(offsets) if end > len(p)), len(ids))
            part = self._assemble(ids[:split], ids[split:])
            kept = part[2] - part[1]
            span = torch.tensor(
                [(s - len(p), e - len(p)) for s, e in offsets[split : split + kept]], dtype=torch.long
            )
            parts.append(part)
            spans.append(span.reshape(-1, 2).clamp(min=0))
        enc = _Encoded([p[0] for p in parts], *_lo_hi(parts))
        if per_token:
            self._align(enc, spans, texts, completion_ids)
        return enc

    def _align(self, enc: _Encoded, spans: list[torch.Tensor], texts: list[str], completion_ids) -> None:
        """Anchors and spans for a policy tokenizer that differs from the reward model's."""
        if self.policy_tokenizer is None:
            raise ValueError("Per-token rewards under a different tokenizer need policy_tokenizer=.")

        def decode(ids: list[int]) -> str:
            return self.policy_tokenizer.decode(ids, skip_special_tokens=True)

        width = max(token_lengths(completion_ids))
        enc.anchors = torch.full((len(texts), width), -1, dtype=torch.long)
        enc.reward_spans, enc.policy_ends = [], []
        all_ends = policy_token_char_ends([_as_list(ids) for ids in completion_ids], decode)
        for i, ends in enumerate(all_ends):
            ends_t = torch.tensor(ends, dtype=torch.long).clamp(max=len(texts[i]))
            if len(ends):
                ends_t[-1] = len(texts[i])  # the last token completes the text, whatever decode did
            reward_ends = torch.cummax(spans[i][:, 1], 0).values if len(spans[i]) else spans[i][:, 1]
            k = map_potentials(reward_ends, ends_t)
            enc.anchors[i, : len(ends)] = torch.where(k >= 0, k + enc.lo[i], -1)
            enc.reward_spans.append(spans[i])
            enc.policy_ends.append(ends_t)

    def _assemble(self, prompt: list[int], completion: list[int]) -> tuple[list[int], int, int]:
        """``lead + prompt + completion + tail`` cut to ``max_length``; returns ``(ids, lo, hi)``."""
        budget = self.max_length - len(self.lead) - len(self.tail)
        completion = completion[:budget]
        prompt = prompt[len(prompt) - min(len(prompt), budget - len(completion)) :]
        ids = [*self.lead, *prompt, *completion, *self.tail]
        lo = len(self.lead) + len(prompt)
        if not ids:  # nothing to score: one filler token keeps the model's shapes valid
            ids, lo = [self.pad_token_id], 1
        return ids, lo, lo + len(completion)

    def _prompt_prefix(self, prompt: Any) -> str:
        return reward_model_prefix(prompt)

    def _check_shared_tokenizer(self, texts: list[str], completion_ids) -> None:
        decoded = self.tokenizer.batch_decode([list(ids) for ids in completion_ids], skip_special_tokens=True)
        for i, (text, dec) in enumerate(zip(texts, decoded)):
            if "".join(text.split()) != "".join(dec.split()):
                raise ValueError(
                    f"Reward '{self.name}': completion_ids[{i}] does not decode to its completion with the "
                    f"reward model's tokenizer ({dec[:60]!r} vs {text[:60]!r}); pass "
                    "policy_tokenizer=<the policy's tokenizer> so rewards are aligned through the text."
                )

    def _replace(self, **changes: Any) -> ClassifierReward:
        clone = copy.copy(self)
        clone.__dict__.update(changes)
        return clone


# -------------------------------------------------------------------- the reward-model text format
def reward_model_prefix(prompt: Any) -> str:
    """What comes before the completion in the text a reward model scores: a chat prompt's contents
    joined by newlines plus a final newline; a plain prompt as it is ('' for None)."""
    if prompt is None:
        return ""
    text = prompt_text(prompt)
    return text + "\n" if isinstance(prompt, list) and text else text


def reward_model_text(prompt: Any, completion: Any, include_prompt: bool = True) -> str:
    """The text ``ClassifierReward(include_prompt=...)`` scores for one (prompt, completion), and that
    ``recipes/train_reward_model.py`` trains on.

    A plain completion should carry its own leading space after a plain prompt (TRL's standard format).

    Example:
        >>> reward_model_text([{"role": "user", "content": "Hi"}], [{"role": "assistant", "content": "Hello"}])
        'Hi\\nHello'
        >>> reward_model_text("User: Hi\\nAssistant:", " Hello")
        'User: Hi\\nAssistant: Hello'
    """
    text = completion_text(completion)
    return reward_model_prefix(prompt) + text if include_prompt else text


def trained_with_prompt(config: Any, default: bool = False) -> bool:
    """Whether a reward model scores the prompt too: what ``train_reward_model.py`` recorded in its config
    (``rlreward_include_prompt``), else ``default`` (a classifier from elsewhere scores the completion)."""
    return bool(getattr(config, "rlreward_include_prompt", default))


# -------------------------------------------------------------------- helpers


class _NotSinglePass(RuntimeError):
    """The model's per-position head outputs do not reproduce its pooled logits."""


@contextlib.contextmanager
def _eager_attention(model: Any):
    """Eager attention (the only kind that returns its weights) for a block, then the model's own again."""
    previous = getattr(model.config, "_attn_implementation", None)
    if previous != "eager":
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if previous not in (None, "eager"):
            model.set_attn_implementation(previous)


def _lo_hi(parts: list[tuple[list[int], int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lo = torch.tensor([part[1] for part in parts], dtype=torch.long)
    hi = torch.tensor([part[2] for part in parts], dtype=torch.long)
    return lo, hi


def _as_list(ids: Any) -> list[int]:
    return ids.tolist() if hasattr(ids, "tolist") else list(ids)


def _batch_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    if not any(texts):
        return [[] for _ in texts]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _load(path: str, tokenizer: Any, eager: bool):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, **({"attn_implementation": "eager"} if eager else {})
        )
        if tokenizer is None or isinstance(tokenizer, str):
            tokenizer = AutoTokenizer.from_pretrained(tokenizer or path)
    except Exception as err:
        raise ValueError(
            f"Could not load reward model {path!r} with AutoModelForSequenceClassification.from_pretrained "
            f"({type(err).__name__}: {err}). Pass a local directory or Hub id of a sequence-classification "
            "checkpoint, or an already loaded model and its tokenizer."
        ) from err
    return model, tokenizer


def _check_head(model: Any) -> None:
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise TypeError(
            f"model must be a transformers PreTrainedModel or a path, got {type(model).__name__}."
        )
    name = type(model).__name__
    if not (
        name.endswith("ForSequenceClassification") or hasattr(model, "score") or hasattr(model, "classifier")
    ):
        raise ValueError(
            f"{name} has no sequence-classification head (no `score` or `classifier` layer); load the "
            "checkpoint with AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)."
        )


def _resolve_label(config: Any, label: int | str) -> int:
    num_labels = config.num_labels
    id2label = {int(k): v for k, v in (getattr(config, "id2label", None) or {}).items()}
    label2id = dict(getattr(config, "label2id", None) or {}) or {v: k for k, v in id2label.items()}
    available = ", ".join(f"{i}={id2label.get(i, '?')!r}" for i in range(num_labels))
    if isinstance(label, str):
        if label not in label2id:
            raise ValueError(f"Unknown label {label!r}; the model's labels are {available}.")
        label = int(label2id[label])
    if not 0 <= label < num_labels:
        raise ValueError(f"label {label} is out of range; the model's labels are {available}.")
    return label


def _ensure_pad_token_id(model: Any, tokenizer: Any) -> int:
    """The id the classifier treats as padding; set on the config when missing (batching needs it)."""
    config = model.config.get_text_config()
    if config.pad_token_id is None:
        candidates = (tokenizer.pad_token_id, tokenizer.eos_token_id, 0)
        config.pad_token_id = next(c for c in candidates if c is not None)
        model.config.pad_token_id = config.pad_token_id
    return int(config.pad_token_id)


def _position_limit(model: Any, tokenizer: Any) -> int:
    limits = [
        getattr(model.config.get_text_config(), "max_position_embeddings", None),
        getattr(tokenizer, "model_max_length", None),
    ]
    limits = [int(x) for x in limits if isinstance(x, int) and 0 < x < 10**7]
    return min(limits) if limits else 2048


def _is_causal_classifier(model: Any) -> bool:
    """Last-token pooled classifier on a causal backbone, with a ``score`` head applied at every position."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    config = model.config
    model_type = getattr(config, "model_type", "")
    causal_backbone = getattr(config, "is_decoder", False) or (
        model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    )
    return bool(causal_backbone) and isinstance(getattr(model, "score", None), torch.nn.Module)


def _special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Special tokens the tokenizer puts before and after a single text (``[CLS]``/``[SEP]``, BOS, ...)."""
    with_special = tokenizer("x", add_special_tokens=True)["input_ids"]
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    for start in range(len(with_special) - len(plain) + 1):
        if with_special[start : start + len(plain)] == plain:
            return with_special[:start], with_special[start + len(plain) :]
    return [], []


def _same_vocab(a: Any, b: Any) -> bool:
    return a is b or a.get_vocab() == b.get_vocab()


__all__ = ["ClassifierReward", "map_potentials", "overlap_weights", "policy_token_char_ends"]
