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
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from rlreward.rewards.base import RewardError
from rlreward.rl.advantages import masked_whiten, summed_group_advantages
from rlreward.rl.kl import KLController, kl_estimate
from rlreward.rl.losses import PolicyLoss, clipped_policy_loss, token_logprobs
from rlreward.trainers.batch import UpdateBatch
from rlreward.trainers.checkpoint import load_checkpoint, resolve_checkpoint, save_adapter, save_checkpoint
from rlreward.trainers.config import RLConfig
from rlreward.trainers.data_order import local_batch, step_rows
from rlreward.trainers.evaluation import EvalResult, evaluation_metrics, evaluation_rows
from rlreward.trainers.logger import RunLogger, model_card, peak_memory_mb
from rlreward.trainers.metrics import Reduce, rollout_metrics
from rlreward.trainers.optimization import minibatch_step
from rlreward.trainers.rollout import (
    ActorCritic,
    Rollout,
    ValueHead,
    completion_mask_from_ids,
    left_pad,
    sample,
    score_tokens,
)
from rlreward.trainers.scoring import ends_with_eos, score_rollout
from rlreward.trainers.setup import (
    build_optimizer,
    build_reward,
    check_reward_columns,
    check_world_size,
    eos_token_ids,
    load_model,
    lora_config,
    param_groups,
    prepare_dataset,
    retain_freed_memory,
    tokenize_prompt,
    wrap_policy,
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
        eval_temperature: float = 0.0,
    ):
        self.config = config
        self.eval_temperature = eval_temperature  # of the evaluations every config.eval_steps
        self.callbacks = list(callbacks)
        if config.retain_freed_memory:
            retain_freed_memory()
        self.should_stop = False  # a callback sets it to end training after the current step
        self.accelerator = Accelerator(
            # Without CUDA, processes started by `accelerate launch --multi_gpu` / torchrun join a gloo group.
            cpu=not torch.cuda.is_available(),
            log_with=None if config.report_to == "none" else config.report_to,
            project_dir=config.output_dir,
        )
        set_seed(config.seed)  # LoRA and value-head initialisation
        check_world_size(config, self.accelerator.num_processes)
        model, tokenizer = load_model(model, tokenizer)
        self.tokenizer = tokenizer
        self.eos_token_ids = eos_token_ids(model, tokenizer, config.stop_strings or ())
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_ids[0]
        )

        policy = wrap_policy(model, config)
        value_head = ValueHead(model.config.hidden_size) if self.uses_value_head else None
        self.actor_critic = ActorCritic(policy, value_head)
        # The reference: the same weights with the adapter off; a frozen copy only for full fine-tuning.
        self.ref_model = None if config.use_peft else copy.deepcopy(model).requires_grad_(False).eval()

        self.reward = build_reward(reward, reward_weights, config, self._decode)

        self.train_data = self._prepare_dataset(train_dataset, "train_dataset")
        self.eval_data = (
            self._prepare_dataset(eval_dataset, "eval_dataset") if eval_dataset is not None else None
        )
        for name, data in (("train_dataset", self.train_data), ("eval_dataset", self.eval_data)):
            if data is not None:
                check_reward_columns(self.reward, list(data["extra"]), name)

        optimizer, scheduler = build_optimizer(self._param_groups(), config)
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
        self.reduce = Reduce(self.accelerator)
        self.logger = RunLogger(self.output_dir, self.accelerator, config.report_to, config.logging_steps)

    def _param_groups(self, value_learning_rate: float | None = None) -> list[dict]:
        return param_groups(self.actor_critic, value_learning_rate or self.config.learning_rate)

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _prepare_dataset(self, dataset, name: str) -> dict[str, Any]:
        """Tokenize prompts once; keep the other columns for the reward (:func:`prepare_dataset`)."""
        policy = self.accelerator.unwrap_model(self.actor_critic).policy
        limit = getattr(policy.config, "max_position_embeddings", None)
        return prepare_dataset(dataset, name, self.tokenizer, self.config, limit)

    # ------------------------------------------------------------------ data
    def _local_batch(self, step: int) -> tuple[list[int], list[int]]:
        """This process's rows (each repeated k times) and a seed per completion."""
        c, acc = self.config, self.accelerator
        rows = step_rows(c.seed, step, c.batch_size // self.samples_per_prompt, len(self.train_data["ids"]))
        return local_batch(c.seed, step, rows, acc.num_processes, acc.process_index, self.samples_per_prompt)

    # ------------------------------------------------------------------ rollout
    def _reference_logprobs(self, rollout_inputs, temperature: float) -> torch.Tensor:
        """The reference's log-probs: the policy with its adapter disabled (or the frozen full copy)."""
        policy = self.accelerator.unwrap_model(self.actor_critic).policy
        adapter_off = policy.disable_adapter() if self.ref_model is None else contextlib.nullcontext()
        with adapter_off:
            ref = ActorCritic(self.ref_model if self.ref_model is not None else policy)
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
        # A single on-policy epoch: the sampler's own log-probs are the old log-probs, and its hidden
        # states give the critic's values (each equal to a fresh forward pass up to float rounding),
        # which saves a pass. Otherwise one pass gives both exactly as the update will compute them.
        from_sampler = c.num_epochs == 1 and score_temperature == sampled_at
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
            value_head=unwrapped.value_head if from_sampler else None,
        )
        completion_mask = completion_mask_from_ids(samples.ids, self.eos_token_ids)
        completion_ids = samples.ids.masked_fill(completion_mask == 0, self.pad_token_id)
        inputs = (prompt_ids, prompt_mask, completion_ids, completion_mask)
        if from_sampler:
            logprobs, values = samples.logprobs, samples.values
        else:
            logprobs, values = score_tokens(unwrapped, *inputs, score_temperature, c.micro_batch_size)
        entropy = samples.entropy * completion_mask
        logprobs = logprobs * completion_mask
        ref_logprobs = self._reference_logprobs(inputs, score_temperature)
        rollout = Rollout(
            *inputs[:2],
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
        """Fill the rollout's scores and per-token rewards; return the per-token rewards by source
        (:func:`~rlreward.trainers.scoring.score_rollout`)."""
        c = self.config
        return score_rollout(
            self.reward, rollout, self.eos_token_ids, c.missing_eos_penalty, self.accelerator.device
        )

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
        """``(b, t)`` rloo / grpo advantages: returns-to-go minus a baseline over each prompt's
        ``num_generations`` completions; with ``baseline_per_source``, one per source, summed."""
        c, mask = self.config, rollout.completion_mask
        parts = sources if c.baseline_per_source and sources else {"all": rewards}
        if c.whiten_rewards:
            distributed = self.accelerator.num_processes > 1
            parts = {
                k: masked_whiten(v, mask, shift_mean=False, distributed=distributed) for k, v in parts.items()
            }
        return summed_group_advantages(
            parts, mask, c.num_generations, c.advantage_estimator, c.gamma, c.scale_rewards
        )

    def compute_loss(self, batch: UpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The micro-batch's loss and its stats, each normalised by ``batch.num_tokens`` (additive shares)."""
        raise NotImplementedError

    def policy_loss(self, batch: UpdateBatch) -> tuple[PolicyLoss, torch.Tensor | None]:
        """Forward the micro-batch; the clipped policy loss over its tokens, and the values (PPO)."""
        c = self.config
        logits, values = self.actor_critic(batch.input_ids, batch.attention_mask, batch.mask.shape[1])
        logprobs = token_logprobs(logits, batch.completion_ids, c.temperature or 1.0)
        loss = clipped_policy_loss(
            logprobs, batch.old_logprobs, batch.advantages, batch.mask, c.clip_range, batch.num_tokens
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
        batch = UpdateBatch.from_rollout(rollout, **self.compute_advantages(rollout, rewards, sources))
        self.actor_critic.train()
        mini = c.mini_batch_size // self.accelerator.num_processes
        micro, optimization = (
            min(c.micro_batch_size, mini),
            (self.optimizer, self.scheduler, self.accelerator),
        )
        stats: dict[str, list[float]] = {}
        for epoch in range(c.num_epochs):
            generator = torch.Generator().manual_seed(hash((c.seed, self.step, epoch)))
            order = torch.randperm(len(batch), generator=generator)
            for start in range(0, len(batch), mini):
                rows = order[start : start + mini]
                step_stats, applied = minibatch_step(
                    batch, rows, micro, self.compute_loss, self.actor_critic, *optimization, c.max_grad_norm
                )
                if not applied:
                    self.skipped_updates += 1
                    warnings.warn(
                        f"Step {self.step}: non-finite gradient norm, update skipped.", stacklevel=2
                    )
                for k, v in step_stats.items():
                    stats.setdefault(k, []).append(v)
        return {k: sum(v) / len(v) for k, v in stats.items()}

    # ------------------------------------------------------------------ loop
    def train(self) -> list[dict[str, float]]:
        """Run until ``max_steps``; resumes from ``config.resume_from_checkpoint`` when set."""
        c, acc = self.config, self.accelerator
        self._maybe_resume()
        self.logger.start(c.to_dict())
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
                result = self.evaluate(temperature=self.eval_temperature)
                self._callback("on_evaluate", result)  # may add metrics to result.metrics
                metrics.update(result.metrics)
            self._callback("on_step_end", metrics)
            self.history.append(metrics)
            self.logger.log_step(metrics, self.step)
            if acc.is_main_process:
                bar.set_postfix(reward=f"{metrics['rewards/mean']:.3f}", kl=f"{metrics['objective/kl']:.3f}")
                bar.update(1)
            last = self.step == c.max_steps  # a finished run can be extended with a larger max_steps
            if self.should_stop or last or (c.save_steps and self.step % c.save_steps == 0):
                self.save_checkpoint()  # a stopped run resumes from here
        bar.close()
        self._callback("on_train_end", self.history)
        self.logger.end()
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
        metrics = {
            "step": self.step + 1,
            **rollout_metrics(rollout, self.kl_per_token(rollout), self.eos_token_ids, self.reduce),
            "objective/kl_coef": self.kl_ctl.value,
            **stats,  # already over all processes
            "perf/generate_s": t1 - t0,
            "perf/reward_s": t2 - t1,
            "perf/update_s": t3 - t2,
            "perf/step_s": t3 - t0,
            "perf/tokens_per_s": float(rollout.completion_mask.sum()) * acc.num_processes / (t3 - t0),
            "perf/peak_memory_mb": peak_memory_mb(acc.device),
            "skipped/nonfinite": self.skipped_updates,
        }
        self.kl_ctl.update(metrics["objective/kl"], c.batch_size)
        self.step += 1
        if c.sample_steps and self.step % c.sample_steps == 0:
            self.logger.log_samples(self.step, rollout.prompts, rollout.completions, rollout.scores.tolist())
        return metrics

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, dataset: Any | None = None, temperature: float = 0.0, seed: int = 1234) -> EvalResult:
        """Score one completion per held-out prompt (greedy by default), the prompts split over processes.

        Every process must call it (the rows are gathered); each prompt has its own sampling seed, so
        results do not depend on the number of processes. Metrics (:func:`evaluation_metrics`):
        ``eval/reward``, ``eval/kl`` (summed ``log pi - log pi_ref`` of the generated tokens, mean over
        prompts), ``eval/ref_perplexity`` (the reference's per-token perplexity of them: fluency).

        Whatever the sampling and training temperatures, both log-probs are the models' own
        (temperature 1): ``eval/kl`` is 0 when policy and reference are the same model and estimates
        ``KL(pi || pi_ref)`` when sampling at temperature 1, and greedy and sampled evaluations of runs
        trained at any temperature report comparable numbers. The reward's running statistics
        (``NormalizedReward``) are used, not updated.
        """
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
                seeds = [hash((seed, r)) & 0x7FFFFFFF for r in rows]
                rollout = self.generate(data, rows, seeds, temperature, score_temperature=1.0)
                self.score(rollout)
                rows_out.extend(evaluation_rows(rollout, data, rows))
        finally:
            self.reward.freeze(was_frozen)
        if acc.num_processes > 1:
            rows_out = sorted(gather_object(rows_out), key=lambda row: row["index"])
        return EvalResult(evaluation_metrics(rows_out), rows_out)

    # ------------------------------------------------------------------ saving
    def _trainer_state(self) -> dict[str, Any]:
        # The reward's state: e.g. NormalizedReward's running statistics, however it is wrapped.
        return {
            "kl_ctl": self.kl_ctl.state_dict(),
            "skipped_updates": self.skipped_updates,
            "reward_state": self.reward.state_dict(),
        }

    def save_checkpoint(self) -> None:
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            module = self.accelerator.unwrap_model(self.actor_critic)
            state, limit = self._trainer_state(), self.config.save_total_limit
            save_checkpoint(self.output_dir, self.step, module, self.optimizer, self.scheduler, state, limit)
        self.accelerator.wait_for_everyone()

    def _maybe_resume(self) -> None:
        path = resolve_checkpoint(self.output_dir, self.config.resume_from_checkpoint)
        if path is None:
            self.logger.reset()  # a fresh run starts fresh metrics and samples files
            return
        state = load_checkpoint(
            path, self.accelerator.unwrap_model(self.actor_critic), self.optimizer, self.scheduler
        )
        self.step = int(state["step"])
        self.kl_ctl.load_state_dict(state["kl_ctl"])
        self.skipped_updates = int(state.get("skipped_updates", 0))
        if state.get("reward_state"):
            self.reward.load_state_dict(state["reward_state"])
        kept = self.logger.truncate(self.step)  # drop the metrics of steps after the checkpoint
        if self.accelerator.is_main_process:
            self.history = kept
        self.accelerator.wait_for_everyone()

    def save_model(self, output_dir: str | Path | None = None, final_metrics: dict | None = None) -> Path:
        """Save the adapter (PEFT format), value head, tokenizer and a model card."""
        out = Path(output_dir or self.output_dir)
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            unwrapped = self.accelerator.unwrap_model(self.actor_critic)
            base = getattr(unwrapped.policy.config, "_name_or_path", "")
            metrics = final_metrics or (self.history[-1] if self.history else {})
            card = model_card(type(self).__name__, base, self.output_dir, self.config.to_dict(), metrics)
            save_adapter(out, unwrapped.policy, unwrapped.value_head, self.tokenizer, card)
        self.accelerator.wait_for_everyone()
        return out


# EvalResult, UpdateBatch, ends_with_eos, lora_config and tokenize_prompt live in their own modules;
# importing them from here keeps working.
__all__ = [
    "EvalResult",
    "RLTrainer",
    "RewardError",
    "UpdateBatch",
    "ends_with_eos",
    "lora_config",
    "tokenize_prompt",
]
