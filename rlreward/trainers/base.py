"""The training loop shared by the PPO and REINFORCE trainers: orchestration only.

One step:

1. take this process's shard of the step's prompts (a seeded permutation; the position is a
   function of the step, so resuming needs no data state);
2. sample completions with per-completion seeds, then log-probs of the policy, of the reference
   (the same model with its LoRA adapter disabled) and, for PPO, values;
3. score them: the reward's per-token rewards, or its sequence score densified by ``config.densify``;
   fold in the per-token KL penalty ``-beta * kl_t``;
4. advantages (``config.advantage_estimator``: GAE with a value head, PPO only; or per-token
   returns-to-go minus a group baseline over the prompt's ``num_generations`` completions, ``rloo`` or
   ``grpo``, in both trainers, optionally per reward source);
5. clipped policy-gradient updates over mini-batches and epochs, under Accelerate;
6. metrics, samples, checkpoint.

The maths lives in :mod:`rlreward.rl`; this file wires it together.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase, get_scheduler

from rlreward.rewards.base import RewardError, as_instant, evaluate_reward
from rlreward.rewards.shaping import CombinedReward, with_per_token
from rlreward.rl.advantages import discounted_returns, group_advantages, masked_mean, masked_whiten
from rlreward.rl.kl import KLController, kl_estimate
from rlreward.rl.losses import PolicyLoss, clipped_policy_loss, token_logprobs
from rlreward.trainers.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from rlreward.trainers.config import RLConfig
from rlreward.trainers.rollout import (
    ActorCritic,
    Rollout,
    ValueHead,
    completion_mask_from_ids,
    left_pad,
    sample,
    score_tokens,
)


@dataclass
class EvalResult:
    """Held-out evaluation: aggregate metrics and one row per prompt."""

    metrics: dict[str, float]
    rows: list[dict[str, Any]]


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def ends_with_eos(
    completion_ids: torch.Tensor, completion_mask: torch.Tensor, eos_token_ids: Sequence[int]
) -> torch.Tensor:
    """``(b,)`` bool: the completion's last real token is an EOS (it stopped, rather than hit the limit).

    An EOS in the last column counts as stopped; an empty completion does not.
    """
    lengths = completion_mask.sum(1)
    last = completion_ids.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
    eos = torch.tensor(list(eos_token_ids), device=completion_ids.device)
    return torch.isin(last, eos) & (lengths > 0)


def tokenize_prompt(
    tokenizer: PreTrainedTokenizerBase, prompt: Any, use_chat_template: bool = True
) -> list[int]:
    """A prompt's token ids as the trainers generate from them: a string or chat messages, through the
    chat template (with the assistant's generation prompt) when ``use_chat_template`` and the tokenizer
    has one, else the plain text."""
    if isinstance(prompt, str) and not prompt.strip():
        raise ValueError("Found an empty prompt; remove empty rows from the dataset.")
    if use_chat_template and tokenizer.chat_template:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    if not isinstance(prompt, str):
        raise ValueError(
            "Chat-message prompts need a tokenizer with a chat template (use_chat_template=True)."
        )
    return tokenizer(prompt)["input_ids"]


def lora_config(config: RLConfig):
    """The LoRA adapter ``config`` asks for, as a PEFT ``LoraConfig`` (the RL trainers' and the SFT baseline's)."""
    from peft import LoraConfig

    targets = config.lora_target_modules
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets[0] if targets == ["all-linear"] else targets,
        task_type="CAUSAL_LM",
    )


class RLTrainer:
    """Base class: subclasses implement ``compute_advantages`` and ``compute_loss``.

    The group estimators (``advantage_estimator`` rloo / grpo) are shared here
    (:meth:`group_advantages`); a value head exists only for ``gae``.
    """

    @property
    def uses_value_head(self) -> bool:
        return self.config.advantage_estimator == "gae"

    @property
    def samples_per_prompt(self) -> int:
        return self.config.num_generations

    def __init__(
        self,
        model: PreTrainedModel | str,
        reward: Any | Sequence[Any],
        train_dataset: Any,
        config: RLConfig,
        tokenizer: PreTrainedTokenizerBase | None = None,
        reward_weights: Sequence[float] | None = None,
        eval_dataset: Any | None = None,
        callbacks: Sequence[Any] = (),
    ):
        self.config = config
        self.callbacks = list(callbacks)
        self.should_stop = False  # a callback sets it to end training after the current step
        self.accelerator = Accelerator(
            # Without CUDA, processes started by `accelerate launch --multi_gpu` / torchrun join a gloo group.
            cpu=not torch.cuda.is_available(),
            log_with=None if config.report_to == "none" else config.report_to,
            project_dir=config.output_dir,
        )
        set_seed(config.seed)  # LoRA and value-head initialisation
        self._check_world_size()
        model, tokenizer = self._load(model, tokenizer)
        self.tokenizer = tokenizer
        self.eos_token_ids = self._eos_ids(model, tokenizer)
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_ids[0]
        )

        policy = self._wrap_policy(model)
        value_head = ValueHead(model.config.hidden_size) if self.uses_value_head else None
        self.actor_critic = ActorCritic(policy, value_head)
        # The reference: the same weights with the adapter off; a frozen copy only for full fine-tuning.
        self.ref_model = None if config.use_peft else copy.deepcopy(model).requires_grad_(False).eval()

        rewards = list(reward) if isinstance(reward, (list, tuple)) else [reward]
        combined = (
            CombinedReward(rewards, reward_weights) if len(rewards) > 1 or reward_weights else rewards[0]
        )
        self.reward = with_per_token(as_instant(combined), config.densify, self._decode)
        if config.baseline_per_source and not isinstance(self.reward, CombinedReward):
            raise ValueError(
                "baseline_per_source=True needs several reward sources: pass a list of rewards (or a "
                "CombinedReward) not wrapped in another reward, or set baseline_per_source=False."
            )

        self.train_data = self._prepare_dataset(train_dataset, "train_dataset")
        self.eval_data = (
            self._prepare_dataset(eval_dataset, "eval_dataset") if eval_dataset is not None else None
        )

        optimizer = torch.optim.AdamW(
            self._param_groups(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        updates_per_step = config.num_epochs * (config.batch_size // config.mini_batch_size)
        scheduler = get_scheduler(
            config.lr_scheduler_type,
            optimizer,
            num_warmup_steps=config.warmup_steps,
            num_training_steps=config.max_steps * updates_per_step,
        )
        self.actor_critic, self.optimizer, self.scheduler = self.accelerator.prepare(
            self.actor_critic, optimizer, scheduler
        )
        if self.ref_model is not None:
            self.ref_model.to(self.accelerator.device)
        self.kl_ctl = KLController(config.kl_coef, config.target_kl, config.kl_horizon)
        self.step = 0
        self.skipped_updates = 0
        self.history: list[dict[str, float]] = []
        self.output_dir = Path(config.output_dir)

    # ------------------------------------------------------------------ setup
    def _check_world_size(self) -> None:
        world, c = self.accelerator.num_processes, self.config
        prompts = c.batch_size // self.samples_per_prompt
        for name, value in (
            ("prompts per step (batch_size / k)", prompts),
            ("mini_batch_size", c.mini_batch_size),
        ):
            if value % world:
                raise ValueError(
                    f"{name} = {value} is not divisible by the {world} processes; make it a multiple."
                )
        mini_local = c.mini_batch_size // world
        micro = min(c.micro_batch_size, mini_local)
        if mini_local % micro:
            raise ValueError(
                f"mini_batch_size per process ({mini_local}) must be a multiple of micro_batch_size ({micro})."
            )

    def _load(self, model, tokenizer):
        if isinstance(model, str):
            from rlreward.models import load_causal_lm

            model, loaded_tokenizer = load_causal_lm(model)
            tokenizer = tokenizer or loaded_tokenizer
        if tokenizer is None:
            raise ValueError("Pass tokenizer= with a model object (or pass the model by name to load both).")
        return model, tokenizer

    @staticmethod
    def _eos_ids(model, tokenizer) -> list[int]:
        ids = model.generation_config.eos_token_id if model.generation_config is not None else None
        ids = ids if ids is not None else tokenizer.eos_token_id
        ids = ids if isinstance(ids, list) else [ids]
        ids = [i for i in ids if i is not None]
        if not ids:
            raise ValueError(
                "The tokenizer has no eos_token; set tokenizer.eos_token so completions can stop."
            )
        return ids

    def _wrap_policy(self, model: PreTrainedModel) -> nn.Module:
        c = self.config
        if c.gradient_checkpointing:
            model.gradient_checkpointing_enable()
            model.config.use_cache = True
        if not c.use_peft:
            if c.init_adapter:
                raise ValueError("init_adapter needs use_peft=True (the adapter is trained on as LoRA).")
            return model
        from peft import PeftModel, get_peft_model

        if c.init_adapter:
            if not (Path(c.init_adapter) / "adapter_config.json").is_file():
                raise ValueError(
                    f"init_adapter={c.init_adapter!r} has no adapter_config.json; pass a folder written by "
                    "save_model() or peft's save_pretrained()."
                )
            return PeftModel.from_pretrained(model, c.init_adapter, is_trainable=True)

        targets = c.lora_target_modules
        if targets != ["all-linear"]:
            names = {name.split(".")[-1] for name, _ in model.named_modules()}
            absent = [t for t in targets if t not in names]
            if absent:
                linear = sorted(
                    {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
                )
                raise ValueError(
                    f"lora_target_modules {absent} are not in the model; choose from {linear} or 'all-linear'."
                )
        return get_peft_model(model, lora_config(c))

    def _param_groups(self, value_learning_rate: float | None = None) -> list[dict]:
        """The policy's trainable parameters, and the value head's (at ``value_learning_rate``) if any."""
        head = self.actor_critic.value_head
        head_params = list(head.parameters()) if head is not None else []
        head_ids = {id(p) for p in head_params}
        policy = [p for p in self.actor_critic.parameters() if p.requires_grad and id(p) not in head_ids]
        groups = [{"params": policy}]
        if head_params:
            groups.append({"params": head_params, "lr": value_learning_rate or self.config.learning_rate})
        return groups

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _prepare_dataset(self, dataset, name: str) -> dict[str, Any]:
        """Tokenize prompts once; keep the other columns for the reward."""
        if dataset is None or len(dataset) == 0:
            raise ValueError(f"{name} is empty; pass a datasets.Dataset with a 'prompt' column.")
        columns = list(dataset.column_names) if hasattr(dataset, "column_names") else list(dataset[0].keys())
        key = "prompt" if "prompt" in columns else "messages" if "messages" in columns else None
        if key is None:
            raise ValueError(f"{name} needs a 'prompt' (or chat 'messages') column; it has {columns}.")
        prompts = list(dataset[key])
        ids = [self._tokenize_prompt(p) for p in prompts]
        longest = max(range(len(ids)), key=lambda i: len(ids[i]))
        if len(ids[longest]) > self.config.max_prompt_length:
            raise ValueError(
                f"{name} row {longest} has {len(ids[longest])} prompt tokens, more than max_prompt_length="
                f"{self.config.max_prompt_length}; raise max_prompt_length or shorten the prompt."
            )
        limit = getattr(
            self.accelerator.unwrap_model(self.actor_critic).policy.config, "max_position_embeddings", None
        )
        if limit and len(ids[longest]) + self.config.max_new_tokens > limit:
            raise ValueError(
                f"{name} row {longest} has {len(ids[longest])} prompt tokens; with max_new_tokens="
                f"{self.config.max_new_tokens} that exceeds the model's context of {limit} tokens; "
                "lower max_new_tokens or shorten the prompt."
            )
        extra = {c: list(dataset[c]) for c in columns if c != key}
        return {"prompts": prompts, "ids": ids, "extra": extra}

    def _tokenize_prompt(self, prompt: Any) -> list[int]:
        return tokenize_prompt(self.tokenizer, prompt, self.config.use_chat_template)

    # ------------------------------------------------------------------ data
    def _global_indices(self, step: int, data_size: int) -> list[int]:
        """Dataset rows for this step over all processes: seeded permutations, one per data epoch."""
        per_step = self.config.batch_size // self.samples_per_prompt
        out = []
        for pos in range(step * per_step, (step + 1) * per_step):
            epoch, offset = divmod(pos, data_size)
            out.append(self._epoch_order(epoch, data_size)[offset])
        return out

    @functools.lru_cache(maxsize=2)  # noqa: B019 - the trainer lives as long as its cache should
    def _epoch_order(self, epoch: int, data_size: int) -> list[int]:
        g = torch.Generator().manual_seed(self.config.seed * 7919 + epoch)
        return torch.randperm(data_size, generator=g).tolist()

    def _local_batch(self, step: int) -> tuple[list[int], list[int]]:
        """This process's rows (each repeated k times) and a seed per completion."""
        rows = self._global_indices(step, len(self.train_data["ids"]))
        world, rank, k = (
            self.accelerator.num_processes,
            self.accelerator.process_index,
            self.samples_per_prompt,
        )
        shard = len(rows) // world
        first = rank * shard
        local_rows, seeds = [], []
        for j in range(first, first + shard):
            for g in range(k):
                local_rows.append(rows[j])
                seeds.append(hash((self.config.seed, step, j, g)) & 0x7FFFFFFF)
        return local_rows, seeds

    # ------------------------------------------------------------------ rollout
    def _reference_logprobs(self, rollout_inputs, temperature: float) -> torch.Tensor:
        policy = self.accelerator.unwrap_model(self.actor_critic).policy
        if self.ref_model is not None:
            ref = ActorCritic(self.ref_model)
            return score_tokens(ref, *rollout_inputs, temperature, self.config.micro_batch_size)[0]
        with policy.disable_adapter():
            ref = ActorCritic(policy)
            return score_tokens(ref, *rollout_inputs, temperature, self.config.micro_batch_size)[0]

    @torch.no_grad()
    def generate(
        self,
        data: dict[str, Any],
        rows: list[int],
        seeds: list[int],
        temperature: float | None = None,
        score_temperature: float | None = None,
    ) -> Rollout:
        """Sample completions for ``data`` rows and compute policy/reference log-probs (and values).

        Args:
            temperature: sampling temperature (``config.temperature`` if None; 0 is greedy).
            score_temperature: the temperature of the policy's and the reference's log-probs, always
                the same for both; None: the sampling temperature (1 for greedy), as training needs.
        """
        c, device = self.config, self.accelerator.device
        unwrapped = self.accelerator.unwrap_model(self.actor_critic)
        unwrapped.eval()
        temperature = c.temperature if temperature is None else temperature
        sampled_at = temperature or 1.0  # the sampler's log-probs are at this temperature
        score_temperature = sampled_at if score_temperature is None else score_temperature
        prompt_ids, prompt_mask = left_pad([data["ids"][r] for r in rows], self.pad_token_id, device)
        samples = sample(
            unwrapped.policy,
            prompt_ids,
            prompt_mask,
            seeds,
            c.max_new_tokens,
            self.eos_token_ids,
            self.pad_token_id,
            temperature,
            c.top_k,
            c.top_p,
        )
        completion_mask = completion_mask_from_ids(samples.ids, self.eos_token_ids)
        completion_ids = samples.ids.masked_fill(completion_mask == 0, self.pad_token_id)
        inputs = (prompt_ids, prompt_mask, completion_ids, completion_mask)
        if self.uses_value_head or self.config.num_epochs > 1 or score_temperature != sampled_at:
            # One pass gives values and log-probs exactly as the update will compute them.
            logprobs, values = score_tokens(unwrapped, *inputs, score_temperature, c.micro_batch_size)
        else:
            # A single on-policy epoch without a critic: the sampler's own log-probs are the old
            # log-probs (equal to a fresh forward pass up to float rounding), which saves a pass.
            logprobs, values = samples.logprobs, None
        entropy = samples.entropy * completion_mask
        logprobs = logprobs * completion_mask
        ref_logprobs = self._reference_logprobs(inputs, score_temperature)
        rollout = Rollout(
            prompt_ids,
            prompt_mask,
            completion_ids,
            completion_mask,
            logprobs,
            ref_logprobs,
            values,
            prompts=[data["prompts"][r] for r in rows],
            extra={k: [v[r] for r in rows] for k, v in data["extra"].items()},
            entropy=entropy,
        )
        rollout.completions = [self._decode(ids) for ids in rollout.completion_id_lists()]
        return rollout

    def score(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        """Fill ``rollout.scores`` and ``rollout.token_rewards`` from the reward (validated).

        Returns:
            the per-token rewards by source, ``(b, t)`` each, summing to ``rollout.token_rewards``:
            one per part of a combined reward (else ``"reward"``), and ``"missing_eos_penalty"``.
        """
        out = evaluate_reward(
            self.reward, rollout.prompts, rollout.completions, rollout.completion_id_lists(), **rollout.extra
        )
        t = rollout.completion_ids.shape[1]
        device = self.accelerator.device

        def aligned(per_token: torch.Tensor) -> torch.Tensor:  # (b, t) on the rollout's width
            full = torch.zeros(len(out), t)
            full[:, : per_token.shape[1]] = per_token[:, :t]
            return full

        tokens = aligned(out.tokens)
        sources = {k: aligned(v) for k, v in out.token_components.items()} or {"reward": tokens.clone()}
        scores = out.sequence.clone()
        if self.config.missing_eos_penalty is not None:
            ids, mask = rollout.completion_ids.cpu(), rollout.completion_mask.cpu()
            missing = ~ends_with_eos(ids, mask, self.eos_token_ids)
            scores[missing] -= self.config.missing_eos_penalty
            idx = (rollout.lengths.cpu() - 1).clamp(min=0)
            tokens[missing, idx[missing]] -= self.config.missing_eos_penalty
            sources["missing_eos_penalty"] = tokens - sum(sources.values())
        rollout.scores = scores.to(device)
        rollout.token_rewards = tokens.to(device)
        rollout.components = {k: v.to(device) for k, v in out.components.items()}
        return {k: v.to(device) for k, v in sources.items()}

    # ------------------------------------------------------------------ update
    def kl_per_token(self, rollout: Rollout) -> torch.Tensor:
        return (
            kl_estimate(rollout.logprobs, rollout.ref_logprobs, self.config.kl_estimator)
            * rollout.completion_mask
        )

    def compute_advantages(
        self, rollout: Rollout, rewards: torch.Tensor, sources: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """``{"advantages": (b, t), ...}`` from the per-token ``rewards`` (KL penalty folded in).

        ``sources``: the same rewards split by source (summing to ``rewards``), for per-source baselines.
        """
        raise NotImplementedError

    def group_advantages(
        self, rollout: Rollout, rewards: torch.Tensor, sources: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``(b, t)`` advantages of the rloo / grpo estimators: per-token returns-to-go minus a baseline
        over the ``num_generations`` completions of each prompt (rows are grouped by prompt in a rollout).

        With ``baseline_per_source``, each source in ``sources`` gets its own returns, baseline (and
        grpo scaling), and the advantages are summed.
        """
        c, mask = self.config, rollout.completion_mask
        parts = sources if c.baseline_per_source and sources else {"all": rewards}
        distributed = self.accelerator.num_processes > 1
        advantages = torch.zeros_like(rewards)
        for part in parts.values():
            if c.whiten_rewards:
                part = masked_whiten(part, mask, shift_mean=False, distributed=distributed)
            returns = discounted_returns(part, mask, c.gamma)
            advantages = advantages + group_advantages(
                returns, mask, c.num_generations, c.advantage_estimator, c.scale_rewards
            )
        return advantages

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def policy_loss(self, batch: dict[str, torch.Tensor]) -> tuple[PolicyLoss, torch.Tensor | None]:
        """Forward the micro-batch; the clipped policy loss over its tokens, and the values (PPO)."""
        c = self.config
        logits, values = self.actor_critic(
            batch["input_ids"], batch["attention_mask"], batch["mask"].shape[1]
        )
        logprobs = token_logprobs(logits, batch["completion_ids"], c.temperature or 1.0)
        loss = clipped_policy_loss(
            logprobs,
            batch["old_logprobs"],
            batch["advantages"],
            batch["mask"],
            c.clip_range,
            batch["num_tokens"],
        )
        return loss, values

    def update(self, rollout: Rollout, sources: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        """Advantages, then clipped updates over ``num_epochs`` x mini-batches; returns mean loss stats.

        ``sources``: the per-token rewards by source, from :meth:`score` (for per-source baselines).
        """
        c = self.config
        kl = self.kl_per_token(rollout)
        penalty = -self.kl_ctl.value * kl
        rewards = rollout.token_rewards + penalty
        sources = {**(sources or {"reward": rollout.token_rewards}), "kl_penalty": penalty}
        batch = {
            "input_ids": torch.cat([rollout.prompt_ids, rollout.completion_ids], 1),
            "attention_mask": torch.cat([rollout.prompt_mask, rollout.completion_mask], 1),
            "completion_ids": rollout.completion_ids,
            "mask": rollout.completion_mask,
            "old_logprobs": rollout.logprobs,
            **self.compute_advantages(rollout, rewards, sources),
        }
        if rollout.values is not None:
            batch["old_values"] = rollout.values
        self.actor_critic.train()
        world = self.accelerator.num_processes
        mini = c.mini_batch_size // world
        micro = min(c.micro_batch_size, mini)
        n = rollout.completion_ids.shape[0]
        stats: dict[str, list[float]] = {}
        for epoch in range(c.num_epochs):
            order = torch.randperm(
                n, generator=torch.Generator().manual_seed(hash((c.seed, self.step, epoch)))
            )
            for start in range(0, n, mini):
                mb = order[start : start + mini]
                # Normalise by the mini-batch's tokens over all processes: the gradient is then the same
                # however the mini-batch is split into micro-batches and processes.
                num_tokens = self._sum(batch["mask"][mb].sum())
                chunks = [mb[i : i + micro] for i in range(0, len(mb), micro)]
                shares: dict[str, torch.Tensor] = {}  # this mini-batch's stats: sums of the chunks' shares
                for i, rows in enumerate(chunks):
                    micro_batch = {k: v[rows] for k, v in batch.items()}
                    micro_batch["num_tokens"] = num_tokens
                    sync = i == len(chunks) - 1
                    ctx = (
                        self.accelerator.no_sync(self.actor_critic) if not sync else contextlib.nullcontext()
                    )
                    with ctx:
                        loss, loss_stats = self.compute_loss(micro_batch)
                        # DDP averages gradients over processes; the loss is already a global mean.
                        self.accelerator.backward(loss * world)
                    for k, v in loss_stats.items():
                        shares[k] = shares.get(k, 0.0) + v.detach().float()
                # Each chunk's stats are its share of the mini-batch mean (normalised by num_tokens):
                # summed over chunks and processes they are the mini-batch's loss, clip fraction, ...
                if shares:
                    totals = self._sum_vector(torch.stack(list(shares.values())))
                    for k, v in zip(shares, totals.tolist()):
                        stats.setdefault(k, []).append(v)
                grad_norm = self.accelerator.clip_grad_norm_(self.actor_critic.parameters(), c.max_grad_norm)
                grad_norm = float(grad_norm) if grad_norm is not None else 0.0
                if math.isfinite(grad_norm):
                    self.optimizer.step()
                else:  # never let a NaN reach the weights
                    self.skipped_updates += 1
                    warnings.warn(
                        f"Step {self.step}: non-finite gradient norm, update skipped.", stacklevel=2
                    )
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                stats.setdefault("losses/grad_norm", []).append(grad_norm)
        return {k: sum(v) / len(v) for k, v in stats.items()}

    # ------------------------------------------------------------------ loop
    def _sum(self, value: torch.Tensor) -> torch.Tensor:
        """Sum over processes of a per-process scalar (a tensor on this device)."""
        value = value.detach().float().reshape(1).to(self.accelerator.device)
        return self.accelerator.reduce(value, reduction="sum").squeeze(0)

    def _sum_vector(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over processes of a per-process ``(n,)`` vector (one all-reduce)."""
        values = values.detach().float().reshape(-1).to(self.accelerator.device)
        return self.accelerator.reduce(values, reduction="sum")

    def _mean(self, value: torch.Tensor) -> float:
        """Mean over processes of a per-process scalar."""
        value = value.detach().float().reshape(1).to(self.accelerator.device)
        return float(self.accelerator.reduce(value, reduction="mean"))

    def train(self) -> list[dict[str, float]]:
        """Run until ``max_steps``; resumes from ``config.resume_from_checkpoint`` when set."""
        c, acc = self.config, self.accelerator
        self._maybe_resume()
        if acc.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "config.json").write_text(json.dumps(c.to_dict(), indent=2, default=str))
        if c.report_to != "none":
            acc.init_trackers(self.output_dir.name, config={k: str(v) for k, v in c.to_dict().items()})
        bar = tqdm(
            total=c.max_steps,
            initial=self.step,
            disable=not (c.progress_bar and acc.is_main_process),
            desc="train",
        )
        if c.eval_steps and self.eval_data is None:
            raise ValueError(
                f"eval_steps={c.eval_steps} needs an eval_dataset; pass one to the trainer or set 0."
            )
        self.should_stop = False
        while self.step < c.max_steps and not self.should_stop:
            metrics = self.train_step()
            if c.eval_steps and (self.step % c.eval_steps == 0 or self.step == c.max_steps):
                result = self.evaluate()
                metrics.update(result.metrics)
                self._callback("on_evaluate", result)
            self._callback("on_step_end", metrics)
            self.history.append(metrics)
            if acc.is_main_process:
                with open(self.output_dir / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(metrics) + "\n")
                if c.report_to != "none" and self.step % c.logging_steps == 0:
                    acc.log(metrics, step=self.step)
                bar.set_postfix(reward=f"{metrics['rewards/mean']:.3f}", kl=f"{metrics['objective/kl']:.3f}")
                bar.update(1)
            if self.should_stop or (
                c.save_steps and self.step % c.save_steps == 0 and self.step < c.max_steps
            ):
                self.save_checkpoint()  # a stopped run resumes from here
        bar.close()
        self._callback("on_train_end", self.history)
        if c.report_to != "none":
            acc.end_training()
        return self.history

    def _callback(self, event: str, payload: Any) -> None:
        """Call ``callback.<event>(trainer, payload)`` on every callback that defines it, on every process."""
        for callback in self.callbacks:
            method = getattr(callback, event, None)
            if method is not None:
                method(self, payload)

    def train_step(self) -> dict[str, float]:
        c, acc = self.config, self.accelerator
        # All randomness of this step derives from (seed, step, rank): resumed runs repeat it exactly.
        torch.manual_seed(hash((c.seed, self.step, acc.process_index)) & 0x7FFFFFFF)
        t0 = time.perf_counter()
        rows, seeds = self._local_batch(self.step)
        rollout = self.generate(self.train_data, rows, seeds)
        t1 = time.perf_counter()
        sources = self.score(rollout)
        t2 = time.perf_counter()
        stats = self.update(rollout, sources)
        t3 = time.perf_counter()
        mask = rollout.completion_mask.float()
        kl = self.kl_per_token(rollout).sum(1)
        kl_mean = self._mean(kl.mean())
        all_scores = acc.gather(rollout.scores.float())
        metrics = {
            "step": self.step + 1,
            "rewards/mean": float(all_scores.mean()),
            "rewards/std": float(all_scores.std(unbiased=False)),
            "rewards/token_mean": float(
                self._sum((rollout.token_rewards * mask).sum()) / self._sum(mask.sum())
            ),
            "objective/kl": kl_mean,
            "objective/kl_coef": self.kl_ctl.value,
            "objective/entropy": self._mean(masked_mean(rollout.entropy, mask)),
            "completions/mean_length": self._mean(mask.sum(1).mean()),
            "completions/eos_rate": self._mean(
                ends_with_eos(rollout.completion_ids, rollout.completion_mask, self.eos_token_ids)
                .float()
                .mean()
            ),
            **{f"rewards/{k}": self._mean(v.float().nanmean()) for k, v in rollout.components.items()},
            **stats,  # already over all processes
            "perf/generate_s": t1 - t0,
            "perf/reward_s": t2 - t1,
            "perf/update_s": t3 - t2,
            "perf/step_s": t3 - t0,
            "perf/tokens_per_s": float(mask.sum()) * acc.num_processes / (t3 - t0),
            "perf/peak_memory_mb": _peak_memory_mb(acc.device),
            "skipped/nonfinite": self.skipped_updates,
        }
        self.kl_ctl.update(kl_mean, c.batch_size)
        self.step += 1
        if acc.is_main_process and c.sample_steps and self.step % c.sample_steps == 0:
            self._log_samples(rollout)
        return metrics

    def _log_samples(self, rollout: Rollout, n: int = 3) -> None:
        rows = [
            {"step": self.step, "prompt": str(p)[-200:], "completion": comp, "reward": round(float(s), 4)}
            for p, comp, s in list(zip(rollout.prompts, rollout.completions, rollout.scores.tolist()))[:n]
        ]
        with open(self.output_dir / "samples.jsonl", "a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        table = "\n".join(
            f"  [{r['reward']:+.3f}] {r['prompt'][-60:]!r} -> {r['completion'][:100]!r}" for r in rows
        )
        tqdm.write(f"samples at step {self.step}:\n{table}")

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, dataset: Any | None = None, temperature: float = 0.0, seed: int = 1234) -> EvalResult:
        """Score one completion per held-out prompt (greedy by default), the prompts split over processes.

        Every process must call it (the rows are gathered). Metrics: ``eval/reward`` (mean score),
        ``eval/kl`` (sum over tokens of ``log pi - log pi_ref`` for the generated tokens, mean over
        prompts) and ``eval/ref_perplexity`` (``exp`` of the mean negative log-likelihood per token under
        the reference: fluency). Each prompt has its own sampling seed, so results do not depend on the
        number of processes.

        Whatever the sampling ``temperature`` (and whatever the training temperature), both log-probs
        are those of the models' own distributions (temperature 1): ``eval/kl`` is the log-likelihood
        ratio of the generated text between the policy and the reference (0 when they are the same
        model, an estimate of ``KL(pi || pi_ref)`` when sampling at temperature 1), and
        ``eval/ref_perplexity`` is the reference model's perplexity of that text. So greedy and
        sampled evaluations, and runs trained at different temperatures, report comparable numbers.
        Running statistics of the reward (``NormalizedReward``) are used but not updated.
        """
        from accelerate.utils import gather_object

        data = self._prepare_dataset(dataset, "eval_dataset") if dataset is not None else self.eval_data
        if data is None:
            raise ValueError("No eval dataset: pass one to evaluate() or to the trainer.")
        acc = self.accelerator
        mine = list(range(acc.process_index, len(data["ids"]), acc.num_processes))
        size = self.config.batch_size  # generation is memory-bound: bigger batches are cheaper per sample
        rows_out = []
        was_frozen = self.reward.frozen
        self.reward.freeze()  # evaluation must not move the training statistics
        try:
            for start in range(0, len(mine), size):
                rows = mine[start : start + size]
                rows_out.extend(self._evaluate_rows(data, rows, temperature, seed))
        finally:
            self.reward.freeze(was_frozen)
        if acc.num_processes > 1:
            rows_out = sorted(gather_object(rows_out), key=lambda row: row["index"])
        n, tokens = len(rows_out), sum(row["tokens"] for row in rows_out)
        metrics = {
            "eval/reward": sum(row["reward"] for row in rows_out) / n,
            "eval/kl": sum(row["kl"] for row in rows_out) / n,
            "eval/ref_perplexity": math.exp(sum(row["ref_nll"] for row in rows_out) / max(tokens, 1)),
            "eval/mean_length": tokens / n,
        }
        return EvalResult(metrics, rows_out)

    def _evaluate_rows(self, data, rows: list[int], temperature: float, seed: int) -> list[dict[str, Any]]:
        seeds = [hash((seed, r)) & 0x7FFFFFFF for r in rows]
        rollout = self.generate(data, rows, seeds, temperature, score_temperature=1.0)
        self.score(rollout)
        mask = rollout.completion_mask.float()
        kl = ((rollout.logprobs - rollout.ref_logprobs) * mask).sum(1)
        ref_nll = -(rollout.ref_logprobs * mask).sum(1)
        return [
            {
                "index": r,
                "prompt": data["prompts"][r],
                "completion": rollout.completions[i],
                "reward": float(rollout.scores[i]),
                "kl": float(kl[i]),
                "ref_nll": float(ref_nll[i]),
                "tokens": int(mask[i].sum()),
                **{k: v[r] for k, v in data["extra"].items()},
            }
            for i, r in enumerate(rows)
        ]

    # ------------------------------------------------------------------ saving
    def _trainer_state(self) -> dict[str, Any]:
        return {
            "kl_ctl": self.kl_ctl.state_dict(),
            "skipped_updates": self.skipped_updates,
            "reward_state": self.reward.state_dict(),  # e.g. NormalizedReward's running statistics
        }

    def save_checkpoint(self) -> None:
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            save_checkpoint(
                self.output_dir,
                self.step,
                self.accelerator.unwrap_model(self.actor_critic),
                self.optimizer,
                self.scheduler,
                self._trainer_state(),
                self.config.save_total_limit,
            )
        self.accelerator.wait_for_everyone()

    def _maybe_resume(self) -> None:
        path = resolve_checkpoint(self.output_dir, self.config.resume_from_checkpoint)
        if path is None:
            if self.accelerator.is_main_process:  # a fresh run starts a fresh metrics file
                (self.output_dir / "metrics.jsonl").unlink(missing_ok=True)
                (self.output_dir / "samples.jsonl").unlink(missing_ok=True)
            return
        state = load_checkpoint(
            path, self.accelerator.unwrap_model(self.actor_critic), self.optimizer, self.scheduler
        )
        self.step = int(state["step"])
        self.kl_ctl.load_state_dict(state["kl_ctl"])
        self.skipped_updates = int(state.get("skipped_updates", 0))
        if state.get("reward_state"):
            self.reward.load_state_dict(state["reward_state"])
        metrics_file = self.output_dir / "metrics.jsonl"
        if self.accelerator.is_main_process and metrics_file.exists():  # drop steps after the checkpoint
            kept = [
                line
                for line in metrics_file.read_text().splitlines()
                if json.loads(line)["step"] <= self.step
            ]
            metrics_file.write_text("".join(line + "\n" for line in kept))
            self.history = [json.loads(line) for line in kept]
        self.accelerator.wait_for_everyone()

    def save_model(self, output_dir: str | Path | None = None, final_metrics: dict | None = None) -> Path:
        """Save the adapter (PEFT format), value head, tokenizer and a model card."""
        out = Path(output_dir or self.output_dir)
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            unwrapped = self.accelerator.unwrap_model(self.actor_critic)
            out.mkdir(parents=True, exist_ok=True)
            unwrapped.policy.save_pretrained(out)
            self.tokenizer.save_pretrained(out)
            if unwrapped.value_head is not None:
                from safetensors.torch import save_file

                save_file(unwrapped.value_head.state_dict(), str(out / "value_head.safetensors"))
            (out / "README.md").write_text(self._model_card(final_metrics))
        self.accelerator.wait_for_everyone()
        return out

    def _model_card(self, final_metrics: dict | None) -> str:
        cfg = json.dumps(self.config.to_dict(), indent=2, default=str)
        metrics = json.dumps(final_metrics or (self.history[-1] if self.history else {}), indent=2)
        base = getattr(self.accelerator.unwrap_model(self.actor_critic).policy.config, "_name_or_path", "")
        return (
            f"---\nlibrary_name: peft\nbase_model: {base}\ntags: [rlreward, {type(self).__name__}]\n---\n\n"
            f"# {type(self).__name__} adapter trained with rlreward\n\n"
            "```python\nfrom peft import AutoPeftModelForCausalLM\n"
            f'model = AutoPeftModelForCausalLM.from_pretrained("{self.output_dir}")\n```\n\n'
            f"## Config\n\n```json\n{cfg}\n```\n\n## Final metrics\n\n```json\n{metrics}\n```\n"
        )


__all__ = ["EvalResult", "RLTrainer", "RewardError"]
