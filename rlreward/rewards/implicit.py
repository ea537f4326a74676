"""The implicit process reward model of PRIME (Cui et al. 2025; Yuan et al. 2024): dense rewards from
outcome labels only.

A LoRA adapter on a causal LM (``pi_phi``) against the same model with the adapter off (``pi_ref``,
no second copy) gives every completion token the reward

    r_t = beta * (log pi_phi(y_t | x, y_<t) - log pi_ref(y_t | x, y_<t)),

and the adapter is trained so that the summed reward predicts the outcome: cross-entropy of
``sigmoid(beta * sum_t (log pi_phi - log pi_ref))`` against the 0/1 label. A token that makes the
right answer likelier than the reference thinks gets a positive reward, with no step labels at all.

* Offline: :meth:`ImplicitPRM.fit` on labelled samples (prompt, completion ids, outcome).
* Online (``online=<outcome reward>``): each call first labels the batch with the outcome reward and
  takes ``online_steps`` optimiser steps on it, then scores it (PRIME's online update).

The per-token rewards sum to the sequence score ``beta * sum_t (...)``, the log-odds that the
outcome is right. Prompts are tokenized with the model's tokenizer as the policy's are: plain text as
it is, chat messages with the chat template and its generation prompt; give the implicit PRM the
policy's own base model and tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from rlreward.rewards.base import InstantReward, RewardOutput, pad_token_rewards, token_lengths


class ImplicitPRM(InstantReward):
    """PRIME's implicit PRM as an instant reward (see the module docstring).

    Args:
        model: a causal LM with a PEFT LoRA adapter (its base is the reference), or a plain causal LM,
            which gets a fresh adapter of rank ``lora_r`` (``B = 0``: every reward starts at 0).
        tokenizer: the model's (and the policy's) tokenizer.
        beta: the reward scale of PRIME, 0.05 in the paper.
        learning_rate: the adapter's AdamW learning rate.
        online: an outcome reward (e.g. ``OutcomeReward``): label each scored batch with it and update
            the adapter before scoring; None for a fixed, offline-trained PRM.
        online_steps: optimiser steps per online batch.
        batch_size: sequences per forward pass.

    Components logged: ``implicit_prm/outcome_logit`` (the sequence score) and, online,
    ``implicit_prm/loss`` (the batch's cross-entropy before the update).
    """

    name = "implicit_prm"
    per_token = "native"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        beta: float = 0.05,
        learning_rate: float = 1e-4,
        online: Any = None,
        online_steps: int = 1,
        batch_size: int = 16,
        lora_r: int = 8,
        seed: int = 0,
    ):
        from peft import LoraConfig, PeftModel, get_peft_model

        if beta <= 0:
            raise ValueError(f"beta must be > 0, got {beta}.")
        if not isinstance(model, PeftModel):
            torch.manual_seed(seed)
            model = get_peft_model(
                model,
                LoraConfig(r=lora_r, lora_alpha=2 * lora_r, target_modules="all-linear", lora_dropout=0.0),
            )
        self.model, self.tokenizer = model, tokenizer
        self.beta, self.online, self.online_steps, self.batch_size = (
            float(beta),
            online,
            online_steps,
            batch_size,
        )
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=learning_rate
        )
        self.last_loss: float | None = None

    # ------------------------------------------------------------------------------ log-probs
    def prompt_ids(self, prompt: Any) -> list[int]:
        if isinstance(prompt, list):  # chat messages: as the policy sees them
            return self.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
        return self.tokenizer(str(prompt), add_special_tokens=False)["input_ids"]

    def token_log_ratios(
        self, prompts: Sequence[Any], completion_ids: Sequence[Sequence[int]]
    ) -> torch.Tensor:
        """``(b, T)``: ``log pi_phi(y_t) - log pi_ref(y_t)`` per completion token (0 past each end); with
        gradients through the adapter when grad is enabled."""
        lengths = token_lengths(completion_ids)
        width_out = max(lengths, default=0)
        ratios: list[torch.Tensor] = []
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        for start in range(0, len(prompts), self.batch_size):
            rows = range(start, min(start + self.batch_size, len(prompts)))
            sequences = [self.prompt_ids(prompts[i]) + list(completion_ids[i]) for i in rows]
            width = max(len(s) for s in sequences)
            ids = torch.tensor([[pad] * (width - len(s)) + s for s in sequences])  # left padding
            attention = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences])
            inputs = {
                "input_ids": ids,
                "attention_mask": attention,
                "position_ids": (attention.cumsum(1) - 1).clamp(min=0),
            }

            phi = _token_log_probs(self.model(**inputs).logits, ids)
            with torch.no_grad(), self.model.disable_adapter():
                ref = _token_log_probs(self.model(**inputs).logits, ids)
            for j, i in enumerate(rows):
                n = lengths[i]
                ratio = phi[j, width - 1 - n :] - ref[j, width - 1 - n :]
                ratios.append(F.pad(ratio, (0, width_out - n)))
        return torch.stack(ratios) if ratios else torch.zeros(0, width_out)

    # ------------------------------------------------------------------------------ training
    def loss(self, prompts, completion_ids, labels) -> torch.Tensor:
        """Cross-entropy of ``sigmoid(beta * sum_t log-ratio)`` against the outcome labels."""
        logits = self.beta * self.token_log_ratios(prompts, completion_ids).sum(1)
        return F.binary_cross_entropy_with_logits(logits, torch.as_tensor(labels, dtype=torch.float32))

    def update(self, prompts, completion_ids, labels, steps: int = 1) -> float:
        """``steps`` optimiser steps on one batch; returns the loss before them."""
        self.model.train()
        first = None
        for _ in range(steps):
            self.optimizer.zero_grad()
            loss = self.loss(prompts, completion_ids, labels)
            loss.backward()
            self.optimizer.step()
            first = loss.item() if first is None else first
        self.model.eval()
        return float(first)

    def fit(
        self, prompts, completion_ids, labels, epochs: int = 1, batch_size: int = 16, seed: int = 0
    ) -> list[float]:
        """Offline training on labelled samples, shuffled each epoch from ``seed``; the batch losses."""
        generator = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(epochs):
            order = torch.randperm(len(prompts), generator=generator).tolist()
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                losses.append(
                    self.update(
                        [prompts[i] for i in batch],
                        [completion_ids[i] for i in batch],
                        [labels[i] for i in batch],
                    )
                )
        return losses

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Online, the adapter and its optimiser (training changes them; checkpoints keep them)."""
        from peft import get_peft_model_state_dict

        if self.online is None:
            return {}
        adapter = {k: v.detach().clone() for k, v in get_peft_model_state_dict(self.model).items()}
        return {"adapter": adapter, "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from peft import set_peft_model_state_dict

        if set(state) - {"adapter", "optimizer"}:
            raise ValueError(
                f"Reward '{self.name}' has no state {sorted(set(state) - {'adapter', 'optimizer'})}."
            )
        if state:
            set_peft_model_state_dict(self.model, state["adapter"])
            self.optimizer.load_state_dict(state["optimizer"])

    # ------------------------------------------------------------------------------ reward
    def required_columns(self) -> list[str]:
        reader = getattr(self.online, "required_columns", None)  # the online labels' columns
        return reader() if reader else []

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        components = {}
        if self.online is not None and not self.frozen:
            labels = self.online.score(prompts, completions, completion_ids, **kwargs).sequence
            self.last_loss = self.update(prompts, completion_ids, labels.tolist(), self.online_steps)
            components["implicit_prm/loss"] = torch.full((len(completions),), self.last_loss)
        with torch.no_grad():
            self.model.eval()
            tokens = self.beta * self.token_log_ratios(prompts, completion_ids)
        lengths = token_lengths(completion_ids)
        tokens = pad_token_rewards([tokens[i, :n].tolist() for i, n in enumerate(lengths)], lengths)
        sequence = tokens.sum(1)
        components["implicit_prm/outcome_logit"] = sequence.clone()
        return RewardOutput(sequence=sequence, tokens=tokens, components=components)


def _token_log_probs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``(b, L - 1)``: column ``k`` is ``log p(ids[:, k + 1] | ids[:, :k + 1])``, so a completion of
    ``n`` tokens at the end of a row has its log-probs in the last ``n`` columns."""
    return F.log_softmax(logits[:, :-1].float(), dim=-1).gather(2, ids[:, 1:, None])[..., 0]
