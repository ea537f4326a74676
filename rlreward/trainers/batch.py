"""The update batch: what the policy (and value) loss needs for each completion of a rollout."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass
class UpdateBatch:
    """One rollout's tensors for the update, row ``i`` being completion ``i``.

    Shapes: ``b`` completions on this process, ``p`` prompt tokens (left-padded), ``t`` completion
    tokens (right-padded after EOS). :meth:`rows` selects a mini- or micro-batch.

    Dict-style access (``batch["advantages"]``) is kept for subclasses written against the old
    ``dict[str, Tensor]`` batch.
    """

    input_ids: torch.Tensor  # (b, p + t) prompt then completion
    attention_mask: torch.Tensor  # (b, p + t)
    completion_ids: torch.Tensor  # (b, t)
    mask: torch.Tensor  # (b, t) 1 on completion tokens up to and including EOS
    old_logprobs: torch.Tensor  # (b, t) log-probs of the sampling policy
    advantages: torch.Tensor  # (b, t)
    returns: torch.Tensor | None = None  # (b, t) value targets (GAE only)
    old_values: torch.Tensor | None = None  # (b, t) values at sampling time (GAE only)
    #: scalar: completion tokens of the whole mini-batch over all processes, the loss normaliser
    num_tokens: torch.Tensor | None = None

    @classmethod
    def from_rollout(
        cls, rollout, advantages: torch.Tensor, returns: torch.Tensor | None = None
    ) -> UpdateBatch:
        """The batch of a scored rollout (:class:`~rlreward.trainers.rollout.Rollout`) and its advantages."""
        return cls(
            input_ids=torch.cat([rollout.prompt_ids, rollout.completion_ids], 1),
            attention_mask=torch.cat([rollout.prompt_mask, rollout.completion_mask], 1),
            completion_ids=rollout.completion_ids,
            mask=rollout.completion_mask,
            old_logprobs=rollout.logprobs,
            advantages=advantages,
            returns=returns,
            old_values=rollout.values,
        )

    def __len__(self) -> int:
        return self.completion_ids.shape[0]

    def rows(self, index: torch.Tensor) -> UpdateBatch:
        """The batch of rows ``index`` (``num_tokens`` is kept: it is the mini-batch's)."""
        per_row = {
            f.name: getattr(self, f.name)[index]
            for f in fields(self)
            if f.name != "num_tokens" and getattr(self, f.name) is not None
        }
        return replace(self, **per_row)

    def __getitem__(self, key: str) -> torch.Tensor | None:
        return getattr(self, key)
