"""RL with instant rewards against SFT on best-of-n samples, at equal numbers of generated samples.

The sentiment task (continue a movie-review opening; reward: VADER compound of the completion), one
policy (SmolLM2-135M-Instruct + LoRA r=16 on all linear layers, plain-text prompts) and one sample budget,
``steps x batch_size`` completions, for every trained method:

1. ``base``: the policy before training (no samples).
2. ``sft_best_of_n``: rejection-sampling fine-tuning. For ``budget / n`` training prompts, sample ``n``
   completions from the base policy (temperature 1), keep the one VADER scores highest, and fine-tune a LoRA
   adapter on ``prompt + best completion`` with TRL's ``SFTTrainer`` (loss on the completion tokens only).
   The exact sampled tokens are trained on (pre-tokenised ``input_ids`` + ``completion_mask``), so a
   completion cut at ``max_new_tokens`` is not taught to end with EOS.
3. ``ppo_terminal``: rlreward PPO, VADER sequence score only, paid at the last token (``densify=terminal``).
4. ``ppo_instant``: rlreward PPO, VADER per token (prefix differences, ``r_t = phi(y_<=t) - phi(y_<t)``).
5. ``reinforce_instant``: rlreward REINFORCE with a leave-one-out baseline over 4 samples per prompt,
   instant VADER rewards, one optimizer step per batch.
6. ``trl_rloo``: TRL's ``RLOOTrainer`` with the VADER sequence score (4 samples per prompt, one optimizer
   step per batch, KL in the reward with the same beta, constant learning rate, no gradient checkpointing).

RL methods share the learning rate (3e-4) and KL coefficient (0.05) of ``recipes/ppo_sentiment.py``; PPO
keeps that recipe's 2 epochs x 2 mini-batches per batch.

Every method is scored by one function, :func:`evaluate_policy`: for each held-out prompt one completion
sampled at temperature 1 with a per-prompt seed that is the same for every method and training seed
(common random numbers), then, under the trained policy and under the base model (the LoRA adapter
disabled): mean VADER reward, share positive (compound >= 0.05), KL to the base model (``sum_t log pi -
log pi_base`` over the sampled tokens, mean over prompts), perplexity under the base model (``exp`` of the
mean negative log-likelihood per token: fluency), distinct-1/2 and mean length. Each (method, seed) runs in
its own process, so peak memory (max RSS on CPU, max allocated on CUDA) is its own, and its record is
saved to ``<output_dir>/runs/`` as soon as it finishes: an interrupted benchmark resumes where it stopped.

Learning curves: the training batch's mean reward after every RL step against the samples generated so
far, and every ``--eval_every`` steps the held-out reward and KL on the first ``--curve_eval_size``
held-out prompts. SFT generates its whole budget before training, so it is one point at the budget.
The untrained base model is run once (its evaluation does not depend on the training seed).

Headline comparisons, printed under the table: (a) the samples instant-reward PPO needs to reach
terminal-reward PPO's final reward (on the seed-mean training-batch curve, smoothed, and on the held-out
checkpoints); (b) SFT against instant-reward PPO: both final (reward, KL) pairs, and instant-reward PPO's
held-out reward interpolated at SFT's KL along its checkpoints.

    python benchmarks/rl_vs_sft.py                   # all methods, seeds 0 1 2, 8 steps: about 45 min here
    python benchmarks/rl_vs_sft.py --eval_every 4    # plus held-out checkpoints every 4 steps
    python benchmarks/rl_vs_sft.py --quick           # smoke run: 2 steps of 8, seed 0: about 2.5 min here
    python benchmarks/rl_vs_sft.py --steps 40        # the sentiment recipe's length: about 3 h here
    python benchmarks/rl_vs_sft.py --methods ppo_terminal ppo_instant --seeds 3 4   # add runs; saved ones
                                                     # with the same settings are reused (--overwrite reruns)

``--task qa|translation|codegen|dialogue`` compares a task recipe with SFT on its reference outputs instead
(gold answers, human translations, canonical solutions, real replies), at equal samples: the recipe's own
PPO run (``recipes/ppo_<task>.py``, its default budget or ``--steps``), then ``--sft_baseline``: TRL's
SFTTrainer on ``steps x batch_size`` reference examples, the same LoRA shape and learning rate. Both are
evaluated by the recipe (greedy, its held-out split, its task metrics, KL to the base model); the base
model is the PPO run's "before". Each run is a folder ``<output_dir>/<task>/<method>_seed<k>``, reused by a
rerun when its ``eval.json`` says it finished (same mode and step count; ``--overwrite`` reruns), and ``<output_dir>/<task>/table.md`` the table.

    python recipes/train_reward_model.py              # the dialogue task's reward model, once
    python benchmarks/rl_vs_sft.py --task qa          # one seed at the recipe's budget: about 25 min here
    python benchmarks/rl_vs_sft.py --task translation --seeds 0 1 2 -- --language fr   # flags after -- go
                                                      # to the recipe

Output in ``--output_dir`` (default ``outputs/rl_vs_sft``): ``table.md`` (mean ± std over seeds and the
headline comparisons), ``results.json`` (settings, summary, headline, every run with its curves and a few
completions), ``reward_vs_samples.png`` (training-batch and held-out reward against generated samples;
bands and error bars: std over seeds).

Cost, measured with 1-step and 2-step runs on the 2 CPU cores this was written on (shared with other
jobs, fp32, one torch thread per run; two threads were 3-10x slower there, see ``--threads``), per
16-completion x 24-token step: PPO 20-24 s, REINFORCE 11-13 s, TRL RLOO 15-16 s, SFT about 5 s of
best-of-n sampling per 16 samples plus its few optimizer steps; evaluating 64 held-out prompts 20-35 s,
a 16-prompt checkpoint 5-9 s; starting a run and loading the model about 8 s. All six methods for one
seed cost about ``76 s x steps + 330 s``, so the default (8 steps, 3 seeds) is about 45 minutes and
``--steps 40`` about three hours.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import torch

METHODS = ("base", "sft_best_of_n", "ppo_terminal", "ppo_instant", "reinforce_instant", "trl_rloo")
LABELS = {
    "base": "base model",
    "sft_best_of_n": "SFT on best-of-n (TRL SFTTrainer)",
    "ppo_terminal": "PPO, terminal reward",
    "ppo_instant": "PPO, instant reward",
    "reinforce_instant": "REINFORCE, instant reward",
    "trl_rloo": "TRL RLOO, sequence reward",
}
EVAL_SEED = 1234  # held-out sampling seed: the same completions' random streams for every method and seed
POSITIVE = 0.05  # VADER's own threshold for a positive compound score


@dataclass
class Settings:
    """What the benchmark runs; every field is a command-line flag of the same name."""

    model: str = field(
        default="smollm2-135m-instruct", metadata={"help": "Policy: registry name or local model folder."}
    )
    steps: int = field(default=8, metadata={"help": "RL steps; the sample budget is steps x batch_size."})
    batch_size: int = field(default=16, metadata={"help": "Completions generated per RL step."})
    max_new_tokens: int = field(default=24, metadata={"help": "Completion length limit, training and eval."})
    learning_rate: float = field(default=3e-4, metadata={"help": "Learning rate of the RL methods."})
    kl_coef: float = field(default=0.05, metadata={"help": "beta of the KL penalty of the RL methods."})
    sft_n: int = field(default=4, metadata={"help": "n of best-of-n: samples per SFT training prompt."})
    sft_epochs: int = field(default=2, metadata={"help": "SFT epochs over the best-of-n completions."})
    sft_batch_size: int = field(default=8, metadata={"help": "SFT examples per optimizer step."})
    sft_learning_rate: float = field(default=2e-4, metadata={"help": "SFT learning rate (LoRA)."})
    eval_size: int = field(default=64, metadata={"help": "Held-out prompts scored per method (at most 64)."})
    eval_every: int = field(
        default=0,
        metadata={
            "help": "Held-out checkpoint every N RL steps for the curves (0: off; training batches only)."
        },
    )
    curve_eval_size: int = field(default=16, metadata={"help": "Held-out prompts per curve checkpoint."})
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "Training seeds."})
    methods: list[str] = field(default_factory=lambda: list(METHODS), metadata={"help": "Methods to run."})
    output_dir: str = field(default="outputs/rl_vs_sft", metadata={"help": "Where results are written."})
    threads: int = field(
        default=1,
        metadata={
            "help": "torch CPU threads per run; 0: torch's default (one per core). On shared cores 1 avoids "
            "OpenMP oversubscription: 3-10x faster than 2 on the 2-core machine this was measured on."
        },
    )
    overwrite: bool = field(default=False, metadata={"help": "Rerun (method, seed) pairs already saved."})
    quick: bool = field(
        default=False,
        metadata={
            "help": "Smoke run: 2 steps of 8 x 8 tokens, 8 eval prompts, 4 per checkpoint, seed 0 (overrides)."
        },
    )

    def __post_init__(self):
        if self.quick:
            self.steps, self.batch_size, self.max_new_tokens, self.eval_size = 2, 8, 8, 8
            self.seeds, self.eval_every, self.curve_eval_size = [0], 2, 4
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown:
            raise ValueError(f"--methods {unknown} are unknown; choose from {', '.join(METHODS)}.")
        if self.batch_size % 4 or self.batch_size < 8:
            raise ValueError(
                f"--batch_size {self.batch_size} must be a multiple of 4 and at least 8 (4 samples per prompt "
                "for REINFORCE and RLOO, 2 PPO mini-batches)."
            )
        if self.budget % self.sft_n:
            raise ValueError(f"The budget {self.budget} samples is not divisible by --sft_n {self.sft_n}.")
        if not 1 <= self.eval_size <= 64:
            raise ValueError(f"--eval_size {self.eval_size} must be between 1 and 64 (the held-out split).")

    def run_key(self) -> dict[str, Any]:
        """The fields a saved run depends on: a saved run is reused only when they all match."""
        skip = {"seeds", "methods", "output_dir", "threads", "overwrite", "quick"}
        return {k: v for k, v in asdict(self).items() if k not in skip}

    @property
    def budget(self) -> int:
        """Completions generated in training by every trained method."""
        return self.steps * self.batch_size


# ---------------------------------------------------------------------------------------------- evaluation
def _eos_and_pad(model, tokenizer) -> tuple[list[int], int]:
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = tokenizer.eos_token_id if ids is None else ids
    eos = [i for i in (ids if isinstance(ids, list) else [ids]) if i is not None]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return eos, pad


@torch.no_grad()
def sample_completions(
    model,
    tokenizer,
    prompts: Sequence[str],
    seeds: Sequence[int],
    max_new_tokens: int,
) -> tuple[torch.Tensor, ...]:
    """Sample one completion per prompt at temperature 1 with rlreward's seeded sampler (plain-text prompts).

    Returns:
        ``prompt_ids (b, p)``, ``prompt_mask (b, p)`` (left-padded), ``completion_ids (b, t)``,
        ``completion_mask (b, t)`` (1 up to and including EOS; padding after it) and the sampler's
        ``logprobs (b, t)`` (0 after EOS).
    """
    from rlreward.trainers.rollout import completion_mask_from_ids, left_pad, sample

    device = next(model.parameters()).device
    eos, pad = _eos_and_pad(model, tokenizer)
    prompt_ids, prompt_mask = left_pad([tokenizer(p)["input_ids"] for p in prompts], pad, device)
    samples = sample(model, prompt_ids, prompt_mask, list(seeds), max_new_tokens, eos, pad, temperature=1.0)
    mask = completion_mask_from_ids(samples.ids, eos)
    return prompt_ids, prompt_mask, samples.ids.masked_fill(mask == 0, pad), mask, samples.logprobs * mask


@torch.no_grad()
def evaluate_policy(
    model,
    tokenizer,
    prompts: Sequence[str],
    max_new_tokens: int,
    seed: int = EVAL_SEED,
    batch_size: int = 16,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Held-out metrics of ``model`` against the base model (``model`` with its LoRA adapter disabled).

    The one evaluation of every method. ``model`` is the base causal LM or a ``PeftModel`` around it.
    Completions are sampled at temperature 1, so the sampler's log-probabilities are the policy's and
    ``kl`` is an unbiased estimate of ``KL(pi || pi_base)`` per completion.

    Returns:
        metrics (``eval/reward``, ``eval/positive_share``, ``eval/kl``, ``eval/ref_perplexity``,
        ``eval/distinct_1``, ``eval/distinct_2``, ``eval/mean_length``) and one row per prompt.
    """
    from rlreward.rewards import SentimentLexiconReward
    from rlreward.rewards.metrics import distinct_n
    from rlreward.trainers.rollout import ActorCritic, score_tokens

    was_training = model.training
    model.eval()
    reward = SentimentLexiconReward()
    rows, ref_nll, tokens = [], 0.0, 0
    for start in range(0, len(prompts), batch_size):
        batch = list(prompts[start : start + batch_size])
        seeds = [hash((seed, start + i)) & 0x7FFFFFFF for i in range(len(batch))]
        *inputs, logprobs = sample_completions(model, tokenizer, batch, seeds, max_new_tokens)
        mask = inputs[3].float()
        if hasattr(model, "disable_adapter"):
            with model.disable_adapter():
                ref_logprobs = score_tokens(ActorCritic(model), *inputs, 1.0, batch_size)[0]
        else:  # the base model is its own reference
            ref_logprobs = logprobs
        kl = ((logprobs - ref_logprobs) * mask).sum(1)
        ref_nll += float(-(ref_logprobs * mask).sum())
        tokens += int(mask.sum())
        lengths = inputs[3].sum(1).tolist()
        texts = [
            tokenizer.decode(ids[:n].tolist(), skip_special_tokens=True) for ids, n in zip(inputs[2], lengths)
        ]
        scores = reward(prompts=batch, completions=texts)
        rows += [
            {"prompt": p, "completion": c, "reward": s, "kl": float(k), "length": int(n)}
            for p, c, s, k, n in zip(batch, texts, scores, kl, lengths)
        ]
    model.train(was_training)
    completions = [r["completion"] for r in rows]
    metrics = {
        "eval/reward": statistics.fmean(r["reward"] for r in rows),
        "eval/positive_share": statistics.fmean(r["reward"] >= POSITIVE for r in rows),
        "eval/kl": statistics.fmean(r["kl"] for r in rows),
        "eval/ref_perplexity": math.exp(ref_nll / max(tokens, 1)),
        "eval/distinct_1": distinct_n(completions, 1),
        "eval/distinct_2": distinct_n(completions, 2),
        "eval/mean_length": tokens / len(rows),
    }
    return metrics, rows


def _checkpoint(model, tokenizer, s: Settings, prompts: Sequence[str], step: int) -> dict[str, float]:
    """One point of the held-out learning curve."""
    metrics, _ = evaluate_policy(model, tokenizer, prompts[: s.curve_eval_size], s.max_new_tokens)
    return {"samples": step * s.batch_size, "reward": metrics["eval/reward"], "kl": metrics["eval/kl"]}


# ---------------------------------------------------------------------------------------------- methods
@dataclass
class Trained:
    """A method's trained policy and what it recorded while training."""

    model: Any  # the PeftModel (or the base model for ``base``)
    tokenizer: Any
    train_curve: list[dict[str, float]] = field(default_factory=list)  # per step: samples, reward, kl, step_s
    heldout_curve: list[dict[str, float]] = field(default_factory=list)  # per checkpoint
    extra: dict[str, float] = field(default_factory=dict)
    eval_s: float = 0.0  # time spent on curve checkpoints, taken out of the training time


def _lora_config():
    """LoRA r=16, alpha 32 on all linear layers: what the rlreward runs train."""
    from rlreward.trainers import PPOConfig
    from rlreward.trainers.base import lora_config

    return lora_config(PPOConfig(lora_r=16, lora_alpha=32))


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_base(s: Settings, seed: int, data, workdir: Path) -> Trained:
    from rlreward.models import load_causal_lm

    model, tok = load_causal_lm(s.model)
    return Trained(model.to(_device()), tok)


def train_sft_best_of_n(s: Settings, seed: int, data, workdir: Path) -> Trained:
    """Best-of-n sampling from the base policy, then TRL SFT on the winners (completion-only loss)."""
    from rlreward.models import load_causal_lm
    from rlreward.rewards import SentimentLexiconReward
    from rlreward.trainers import PPOConfig
    from rlreward.trainers.sft import train_sft

    model, tok = load_causal_lm(s.model)
    model.to(_device())
    train = list(data["train"]["prompt"])
    n_prompts = s.budget // s.sft_n
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed)).tolist()
    # Prompts repeat (with fresh sampling seeds) only when the budget exceeds the training set.
    jobs = [(i, order[i % len(train)], g) for i in range(n_prompts) for g in range(s.sft_n)]
    reward = SentimentLexiconReward()
    best: dict[int, tuple[float, list[int], list[int]]] = {}
    scores_all = []
    for start in range(0, len(jobs), s.batch_size):
        chunk = jobs[start : start + s.batch_size]
        prompts = [train[row] for _, row, _ in chunk]
        seeds = [hash((seed, i, g)) & 0x7FFFFFFF for i, _, g in chunk]
        prompt_ids, prompt_mask, completion_ids, completion_mask, _ = sample_completions(
            model, tok, prompts, seeds, s.max_new_tokens
        )
        lengths = completion_mask.sum(1).tolist()
        texts = [
            tok.decode(c[:n].tolist(), skip_special_tokens=True) for c, n in zip(completion_ids, lengths)
        ]
        scores = reward(prompts=prompts, completions=texts)
        scores_all += scores
        for (i, _, _), p_ids, p_mask, c_ids, n, score in zip(
            chunk, prompt_ids, prompt_mask, completion_ids, lengths, scores
        ):
            if i not in best or score > best[i][0]:
                best[i] = (score, p_ids[p_mask.bool()].tolist(), c_ids[:n].tolist())
    winners = [best[i] for i in range(n_prompts)]
    config = PPOConfig(output_dir=str(workdir), seed=seed, progress_bar=False, lora_r=16, lora_alpha=32)
    model, log = train_sft(
        model,
        tok,
        [(p, c) for _, p, c in winners],
        workdir / "sft",
        config,
        epochs=s.sft_epochs,
        batch_size=s.sft_batch_size,
        learning_rate=s.sft_learning_rate,
    )
    extra = {
        "sft/sample_reward": statistics.fmean(scores_all),
        "sft/best_of_n_reward": statistics.fmean(w[0] for w in winners),
        "sft/examples": float(len(winners)),
        "sft/final_loss": next((h["loss"] for h in reversed(log) if "loss" in h), float("nan")),
    }
    return Trained(model, tok, extra=extra)


def _train_rlreward(s: Settings, seed: int, data, workdir: Path, method: str) -> Trained:
    from rlreward.models import load_causal_lm
    from rlreward.rewards import SentimentLexiconReward
    from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer

    model, tok = load_causal_lm(s.model)
    common = dict(
        output_dir=str(workdir / method),
        seed=seed,
        max_steps=s.steps,
        batch_size=s.batch_size,
        micro_batch_size=8,
        max_new_tokens=s.max_new_tokens,
        temperature=1.0,
        learning_rate=s.learning_rate,
        kl_coef=s.kl_coef,
        use_chat_template=False,
        lora_r=16,
        lora_alpha=32,
        save_steps=0,
        sample_steps=0,
        progress_bar=False,
    )
    if method == "ppo_terminal":
        reward = SentimentLexiconReward(per_token=None)
        config = PPOConfig(mini_batch_size=s.batch_size // 2, num_epochs=2, densify="terminal", **common)
        trainer = PPOTrainer(model, reward, data["train"], config, tokenizer=tok)
    elif method == "ppo_instant":
        reward = SentimentLexiconReward(tokenizer=tok)
        config = PPOConfig(mini_batch_size=s.batch_size // 2, num_epochs=2, densify="prefix_delta", **common)
        trainer = PPOTrainer(model, reward, data["train"], config, tokenizer=tok)
    else:
        reward = SentimentLexiconReward(tokenizer=tok)
        config = ReinforceConfig(num_generations=4, mini_batch_size=s.batch_size, num_epochs=1, **common)
        trainer = ReinforceTrainer(model, reward, data["train"], config, tokenizer=tok)
    policy = trainer.accelerator.unwrap_model(trainer.actor_critic).policy
    eval_prompts = list(data["eval"]["prompt"])
    out = Trained(policy, tok)
    if s.eval_every:
        t0 = time.perf_counter()
        out.heldout_curve.append(_checkpoint(policy, tok, s, eval_prompts, 0))
        out.eval_s += time.perf_counter() - t0
    for step in range(1, s.steps + 1):
        m = trainer.train_step()  # train() would also write metrics files we do not need
        out.train_curve.append(
            {
                "samples": step * s.batch_size,
                "reward": m["rewards/mean"],
                "kl": m["objective/kl"],
                "step_s": m["perf/step_s"],
            }
        )
        if s.eval_every and (step % s.eval_every == 0 or step == s.steps):
            t0 = time.perf_counter()
            out.heldout_curve.append(_checkpoint(policy, tok, s, eval_prompts, step))
            out.eval_s += time.perf_counter() - t0
    return out


def train_trl_rloo(s: Settings, seed: int, data, workdir: Path) -> Trained:
    """TRL's RLOOTrainer through rlreward's bridge, configured like the rlreward runs."""
    from transformers import TrainerCallback
    from trl import RLOOConfig

    from rlreward.models import load_causal_lm
    from rlreward.rewards import SentimentLexiconReward
    from rlreward.trainers.trl_bridge import trl_trainer

    model, tok = load_causal_lm(s.model)
    tok.chat_template = None  # plain-text prompts, as for the rlreward runs
    eval_prompts = list(data["eval"]["prompt"])
    out = Trained(None, tok)

    class HeldOut(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            step = state.global_step
            if s.eval_every and (step % s.eval_every == 0 or step == s.steps):
                t0 = time.perf_counter()
                model = getattr(model, "module", model)  # unwrapped from DDP, if wrapped
                out.heldout_curve.append(_checkpoint(model, tok, s, eval_prompts, step))
                out.eval_s += time.perf_counter() - t0

    config = RLOOConfig(
        output_dir=str(workdir / "trl_rloo"),
        seed=seed,
        max_steps=s.steps,
        per_device_train_batch_size=s.batch_size,
        num_generations=4,
        steps_per_generation=1,
        max_completion_length=s.max_new_tokens,
        temperature=1.0,
        learning_rate=s.learning_rate,
        lr_scheduler_type="constant",
        beta=s.kl_coef,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        gradient_checkpointing=False,
        disable_tqdm=True,
    )
    trainer = trl_trainer(
        "rloo",
        model,
        [SentimentLexiconReward()],
        data["train"],
        config,
        tokenizer=tok,
        peft_config=_lora_config(),
        callbacks=[HeldOut()],
    )
    if s.eval_every:
        t0 = time.perf_counter()
        out.heldout_curve.append(_checkpoint(trainer.model, tok, s, eval_prompts, 0))
        out.eval_s += time.perf_counter() - t0
    trainer.train()
    # TRL's logged kl is a per-token mean, not comparable with the per-completion sum: left out.
    out.train_curve = [
        {
            "samples": h["step"] * s.batch_size,
            "reward": h["reward"],
            "kl": math.nan,
            "step_s": h.get("step_time", math.nan),
        }
        for h in trainer.state.log_history
        if "reward" in h
    ]
    out.model = trainer.accelerator.unwrap_model(trainer.model)
    return out


TRAIN = {
    "base": train_base,
    "sft_best_of_n": train_sft_best_of_n,
    "ppo_terminal": partial(_train_rlreward, method="ppo_terminal"),
    "ppo_instant": partial(_train_rlreward, method="ppo_instant"),
    "reinforce_instant": partial(_train_rlreward, method="reinforce_instant"),
    "trl_rloo": train_trl_rloo,
}


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_method(method: str, s: Settings, seed: int, data=None) -> dict[str, Any]:
    """Train one method with one seed, evaluate it, and return its record (JSON-serialisable)."""
    from rlreward.data import load_sentiment_prompts

    data = data if data is not None else load_sentiment_prompts()
    eval_prompts = list(data["eval"]["prompt"])[: s.eval_size]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        trained = TRAIN[method](s, seed, data, Path(tmp))
        train_s = 0.0 if method == "base" else time.perf_counter() - t0 - trained.eval_s
        t1 = time.perf_counter()
        metrics, rows = evaluate_policy(trained.model, trained.tokenizer, eval_prompts, s.max_new_tokens)
        eval_s = time.perf_counter() - t1
    samples = 0 if method == "base" else s.budget
    if s.eval_every and not trained.heldout_curve:
        # Base and SFT get their one checkpoint from the final evaluation: sampling seeds go by prompt
        # index, so its first curve_eval_size rows are exactly what a checkpoint would have sampled.
        subset = rows[: s.curve_eval_size]
        trained.heldout_curve = [
            {
                "samples": samples,
                "reward": statistics.fmean(r["reward"] for r in subset),
                "kl": statistics.fmean(r["kl"] for r in subset),
            }
        ]
    return {
        "method": method,
        "seed": seed,
        "settings": s.run_key(),
        "samples": samples,
        "metrics": {**metrics, **trained.extra},
        "train_s": train_s,
        "eval_s": eval_s,
        "peak_memory_mb": peak_memory_mb(),
        "train_curve": trained.train_curve,
        "heldout_curve": trained.heldout_curve,
        "samples_shown": rows[:5],
    }


# ---------------------------------------------------------------------------------------------- summary
def mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(runs: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Per method: every scalar (eval metrics, time, memory) as ``[mean, std]`` over seeds."""
    out: dict[str, dict[str, list[float]]] = {}
    for method in METHODS:
        mine = [r for r in runs if r["method"] == method]
        if not mine:
            continue
        keys = list(mine[0]["metrics"]) + ["train_s", "eval_s", "peak_memory_mb", "samples"]
        value = lambda r, k: r["metrics"].get(k, r.get(k))  # noqa: E731
        out[method] = {k: list(mean_std([value(r, k) for r in mine])) for k in keys}
        out[method]["seeds"] = [len(mine), 0.0]
    return out


def mean_curve(runs: list[dict], method: str, key: str, y: str = "reward") -> tuple[list[float], ...]:
    """Seed-mean and std of a curve (``train_curve`` or ``heldout_curve``) at the samples every seed has."""
    curves = [r[key] for r in runs if r["method"] == method and r[key]]
    if not curves:
        return [], [], []
    xs = sorted(set.intersection(*({p["samples"] for p in c} for c in curves)))
    ys = [[next(p[y] for p in c if p["samples"] == x) for c in curves] for x in xs]
    stats = [mean_std(v) for v in ys]
    return xs, [m for m, _ in stats], [sd for _, sd in stats]


def trailing_mean(values: Sequence[float], window: int) -> list[float]:
    """``out[i]`` = mean of ``values[max(0, i - window + 1) : i + 1]``: smooths noisy batch rewards."""
    return [statistics.fmean(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]


def samples_to_reach(xs: Sequence[float], ys: Sequence[float], target: float) -> float | None:
    """The first ``x`` whose ``y`` reaches ``target``; ``None`` if none does.

    >>> samples_to_reach([16, 32, 48], [0.1, 0.3, 0.5], 0.3)
    32
    """
    return next((x for x, y in zip(xs, ys) if y >= target), None)


def value_at(xs: Sequence[float], ys: Sequence[float], x: float) -> float | None:
    """``y`` at ``x`` by linear interpolation along the first segment that spans ``x``; ``None`` outside.

    >>> value_at([0.0, 2.0, 4.0], [0.0, 1.0, 3.0], 3.0)
    2.0
    """
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if min(x0, x1) <= x <= max(x0, x1):
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def samples_ratio(runs: list[dict], key: str) -> dict[str, Any] | None:
    """Headline (a) on one kind of curve: the samples instant-reward PPO needs to reach terminal-reward
    PPO's final reward (seed means; training-batch rewards smoothed by a trailing mean, as they are noisy)."""
    curves = {m: mean_curve(runs, m, key) for m in ("ppo_terminal", "ppo_instant")}
    if not all(c[0] for c in curves.values()):
        return None
    window = 1 if key == "heldout_curve" else max(1, min(5, len(curves["ppo_terminal"][0]) // 4))
    smooth = {m: trailing_mean(c[1], window) for m, c in curves.items()}
    target, terminal_samples = smooth["ppo_terminal"][-1], curves["ppo_terminal"][0][-1]
    needed = samples_to_reach(curves["ppo_instant"][0], smooth["ppo_instant"], target)
    return {
        "curve": "held-out checkpoints"
        if key == "heldout_curve"
        else f"training batches, trailing mean of {window} steps",
        "terminal_final_reward": target,
        "terminal_samples": terminal_samples,
        "instant_samples_to_reach": needed,
        "ratio_instant_over_terminal": None if needed is None else needed / terminal_samples,
    }


def headline(runs: list[dict], summary: dict, budget: int) -> dict[str, Any]:
    """(a) samples instant-reward PPO needs to reach terminal-reward PPO's final reward, on each curve
    recorded; (b) SFT vs instant-reward PPO at (roughly) equal KL to the base model."""
    out: dict[str, Any] = {"budget_samples": budget}
    if {"ppo_terminal", "ppo_instant"} <= summary.keys():
        out["a"] = [a for key in ("train_curve", "heldout_curve") if (a := samples_ratio(runs, key))]
    if {"sft_best_of_n", "ppo_instant"} <= summary.keys():
        sft, ppo = summary["sft_best_of_n"], summary["ppo_instant"]
        b: dict[str, Any] = {
            "sft_reward": sft["eval/reward"],
            "sft_kl": sft["eval/kl"],
            "ppo_instant_final_reward": ppo["eval/reward"],
            "ppo_instant_final_kl": ppo["eval/kl"],
        }
        _, sft_rewards, _ = mean_curve(runs, "sft_best_of_n", "heldout_curve")
        _, sft_kls, _ = mean_curve(runs, "sft_best_of_n", "heldout_curve", "kl")
        heldout = bool(sft_kls and mean_curve(runs, "ppo_instant", "heldout_curve")[0])
        key = "heldout_curve" if heldout else "train_curve"
        _, rewards, _ = mean_curve(runs, "ppo_instant", key)
        _, kls, _ = mean_curve(runs, "ppo_instant", key, "kl")
        if heldout:  # both on the checkpoint prompts
            b["matched_on"] = "held-out checkpoints"
            b["sft_checkpoint_reward"], b["sft_checkpoint_kl"] = sft_rewards[-1], sft_kls[-1]
        else:  # SFT's held-out KL against instant PPO's training batches
            b["matched_on"] = "training batches (a proxy)"
        target = sft_kls[-1] if heldout else sft["eval/kl"][0]
        b["ppo_instant_reward_at_sft_kl"] = value_at(kls, rewards, target) if kls else None
        out["b"] = b
    return out


def _fmt(pair: Sequence[float], digits: int = 3) -> str:
    mean, std = pair
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std else f"{mean:.{digits}f}"


def markdown(summary: dict, head: dict, s: Settings) -> str:
    columns = [
        ("reward", "eval/reward", 3),
        ("positive", "eval/positive_share", 2),
        ("KL to base", "eval/kl", 2),
        ("ppl under base", "eval/ref_perplexity", 1),
        ("distinct-1", "eval/distinct_1", 2),
        ("distinct-2", "eval/distinct_2", 2),
        ("length", "eval/mean_length", 1),
        ("train time (s)", "train_s", 0),
        ("peak memory (MB)", "peak_memory_mb", 0),
    ]
    lines = [
        f"RL vs SFT on sentiment: {s.model}, {s.steps} steps x {s.batch_size} = {s.budget} generated samples "
        f"per trained method, {s.max_new_tokens} new tokens, {s.eval_size} held-out prompts (one sample each, "
        f"temperature 1), mean ± std over seeds {s.seeds}. Train time includes loading the model (a few "
        "seconds) and excludes evaluations; peak memory is the run's process (max RSS on CPU).",
        "",
        "| method | samples | seeds | " + " | ".join(c[0] for c in columns) + " |",
        "|---" * (len(columns) + 3) + "|",
    ]
    for method, m in summary.items():
        cells = [_fmt(m.get(key, (math.nan, math.nan)), digits) for _, key, digits in columns]
        lines.append(
            f"| {LABELS[method]} | {int(m['samples'][0])} | {int(m['seeds'][0])} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("")
    for a in head.get("a", []):
        needed, ratio = a["instant_samples_to_reach"], a["ratio_instant_over_terminal"]
        if needed is None:
            verdict = "instant-reward PPO did not reach it within the budget"
        elif needed == 0:
            verdict = "the base model (0 samples) already scores that"
        else:
            verdict = (
                f"instant-reward PPO reached it after {needed:.0f} samples ({ratio:.2f}x the samples, "
                f"{1 / ratio:.1f}x fewer)"
            )
        lines.append(
            f"(a) On {a['curve']}: terminal-reward PPO ends at reward {a['terminal_final_reward']:.3f} after "
            f"{a['terminal_samples']:.0f} samples; {verdict}."
        )
    if "b" in head:
        b = head["b"]
        lines.append(
            f"(b) All held-out prompts: SFT on best-of-{s.sft_n} reward {_fmt(b['sft_reward'])} at KL "
            f"{_fmt(b['sft_kl'], 2)}; instant-reward PPO reward {_fmt(b['ppo_instant_final_reward'])} at KL "
            f"{_fmt(b['ppo_instant_final_kl'], 2)}."
        )
        at_kl = b["ppo_instant_reward_at_sft_kl"]
        if b["matched_on"] == "held-out checkpoints":
            sft_part = (
                f"On the first {s.curve_eval_size} held-out prompts SFT scores "
                f"{b['sft_checkpoint_reward']:.3f} at KL {b['sft_checkpoint_kl']:.2f}"
            )
        else:
            sft_part = (
                f"Without checkpoints, SFT's held-out KL {b['sft_kl'][0]:.2f} is matched on training batches"
            )
        ppo_part = (
            f"instant-reward PPO, interpolated along its {b['matched_on']} to that KL, scores {at_kl:.3f}"
            if at_kl is not None
            else f"instant-reward PPO's {b['matched_on']} never cross that KL, so there is no matched-KL reward"
        )
        lines.append(f"    {sft_part}; {ppo_part}.")
    return "\n".join(lines) + "\n"


def plot(runs: list[dict], summary: dict, budget: int, path: Path) -> None:
    """Reward against generated samples, seed mean with a band (or error bar) of one std over seeds.

    Left: training batches (RL methods). Right: held-out checkpoints on the first ``curve_eval_size``
    prompts (base and SFT are single points); without checkpoints, the final held-out rewards.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    colors = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    checkpoints = any(r["heldout_curve"] for r in runs)
    for method in summary:
        color, label = colors[method], LABELS[method]
        for ax, key in ((left, "train_curve"), (right, "heldout_curve")):
            xs, ys, sds = mean_curve(runs, method, key)
            if key == "heldout_curve" and not checkpoints:
                xs, (ys, sds) = [summary[method]["samples"][0]], zip(summary[method]["eval/reward"])
            if len(xs) > 1:
                ax.plot(xs, ys, "o-", markersize=3, color=color, label=label)
                lo, hi = [y - d for y, d in zip(ys, sds)], [y + d for y, d in zip(ys, sds)]
                ax.fill_between(xs, lo, hi, color=color, alpha=0.2)
            elif xs:
                ax.errorbar(xs, ys, yerr=sds, fmt="s", color=color, capsize=3, label=label)
    right_title = "held-out checkpoints" if checkpoints else "held-out prompts, after training"
    left.set(title="training batches", xlabel="generated samples", ylabel="mean VADER reward")
    right.set(title=right_title, xlabel="generated samples")
    for ax in (left, right):
        ax.set_xlim(-0.05 * max(budget, 1), 1.05 * max(budget, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- task recipes
TASKS = ("qa", "translation", "codegen", "dialogue")
TASK_LABELS = {
    "base": "base model",
    "sft_reference": "SFT on reference outputs",
    "ppo_instant": "PPO, instant reward",
}
ROOT = Path(__file__).resolve().parents[1]


def _recipe_defaults(task: str) -> dict[str, Any]:
    """The defaults of ``recipes/ppo_<task>.py``: its YAML, ``recipes/configs/ppo_<task>.yaml``."""
    import yaml

    return yaml.safe_load((ROOT / "recipes" / "configs" / f"ppo_{task}.yaml").read_text())


def _task_run(
    task: str, method: str, seed: int, steps: int, flags: list[str], out: Path, overwrite: bool
) -> dict:
    """Run (or reuse) one recipe run; returns its ``eval.json`` plus the run's folder."""
    folder = out / f"{method}_seed{seed}"
    mode = {"ppo_instant": "rl", "sft_reference": "sft_baseline"}[method]
    done = folder / "eval.json"
    if overwrite or not done.exists() or json.loads(done.read_text()).get("mode") != mode:
        command = [sys.executable, str(ROOT / "recipes" / f"ppo_{task}.py"), *flags]
        command += ["--seed", str(seed), "--max_steps", str(steps), "--output_dir", str(folder)]
        command += ["--progress_bar", "false", "--save_steps", "0", "--overwrite_output_dir", "true"]
        if method == "sft_reference":
            command += ["--sft_baseline", "true", "--skip_eval_before", "true"]
        t0 = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ})
        if result.returncode:
            raise SystemExit(
                f"{task} {method} seed {seed} failed:\n{result.stderr[-3000:]}{result.stdout[-2000:]}"
            )
        print(f"done: {task} {method} seed {seed} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    record = json.loads(done.read_text())
    if mode == "rl":
        steps_done = len((folder / "metrics.jsonl").read_text().splitlines())
        if steps_done != steps:
            raise SystemExit(f"{folder} ran {steps_done} steps, not {steps}; pass --overwrite to rerun it.")
    return {**record, "folder": str(folder)}


def task_benchmark(
    task: str,
    seeds: Sequence[int],
    steps: int | None,
    flags: list[str],
    output_dir: str,
    overwrite: bool = False,
) -> str:
    """Base, SFT on reference outputs and instant-reward PPO on a task recipe; returns the markdown table.

    ``flags`` go to every recipe run (``--language fr``, ``--model_name_or_path``, batch sizes...).
    """
    steps = steps or _recipe_defaults(task)["max_steps"]
    out = Path(output_dir) / task
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {"base": [], "sft_reference": [], "ppo_instant": []}
    for seed in seeds:
        for method in ("ppo_instant", "sft_reference"):
            record = _task_run(task, method, seed, steps, flags, out, overwrite)
            runs[method].append({**record, "seed": seed})
            if method == "ppo_instant" and record.get("before") and not runs["base"]:
                runs["base"].append(
                    {"after": record["before"], "seconds": math.nan, "samples": 0, "seed": seed}
                )
    samples = runs["ppo_instant"][0]["samples"]
    keys = [k for k in runs["ppo_instant"][0]["after"] if k not in ("eval/reward", "eval/mean_length")]
    keys += ["eval/reward", "eval/mean_length"]
    lines = [
        f"{task}: `{' '.join([f'recipes/ppo_{task}.py', *flags])}`, {steps} steps, {samples} samples per trained "
        "method (PPO: completions generated; SFT: reference examples), the recipe's held-out prompts, greedy; "
        f"mean ± std over seeds {list(seeds)}. Run time includes loading the model and the evaluations.",
        "",
        "| method | samples | " + " | ".join(k.removeprefix("eval/") for k in keys) + " | run time (s) |",
        "|---" * (len(keys) + 3) + "|",
    ]
    for method, records in runs.items():
        if records:
            cells = [_fmt(mean_std([r["after"].get(k, math.nan) for r in records]), 3) for k in keys]
            cells.append(_fmt(mean_std([r["seconds"] for r in records]), 0))
            lines.append(f"| {TASK_LABELS[method]} | {records[0]['samples']} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (out / "table.md").write_text(table)
    (out / "results.json").write_text(json.dumps({"task": task, "steps": steps, "runs": runs}, indent=1))
    return table


# ---------------------------------------------------------------------------------------------- driver
def parse_settings(argv: Sequence[str] | None = None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            parser.add_argument(f"--{f.name}", action="store_true", help=f.metadata["help"])
        elif isinstance(default, list):
            parser.add_argument(
                f"--{f.name}", nargs="+", type=type(default[0]), default=default, help=f.metadata["help"]
            )
        else:
            parser.add_argument(f"--{f.name}", type=type(default), default=default, help=f.metadata["help"])
    parser.add_argument("--child", help=argparse.SUPPRESS)  # "method:seed": one run, in this process
    parser.add_argument(
        "--task",
        default="sentiment",
        choices=("sentiment", *TASKS),
        help="sentiment: the methods above; a task recipe: base, SFT on its references and instant PPO.",
    )
    args = parser.parse_args(argv)
    if args.task != "sentiment":
        return None, args
    values = {f.name: getattr(args, f.name) for f in fields(Settings)}
    try:
        return Settings(**values), args
    except ValueError as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(argv if argv is not None else sys.argv[1:])
    recipe_flags = argv[argv.index("--") + 1 :] if "--" in argv else []  # --task: passed to the recipe
    argv = argv[: argv.index("--")] if "--" in argv else argv
    s, args = parse_settings(argv)
    if s is None:  # a task recipe: its own budget and one seed unless told otherwise
        steps = args.steps if "--steps" in argv else None
        seeds = args.seeds if "--seeds" in argv else [0]
        if "--model" in argv:
            recipe_flags = ["--model_name_or_path", args.model, *recipe_flags]
        print(task_benchmark(args.task, seeds, steps, recipe_flags, args.output_dir, args.overwrite))
        return
    out = Path(s.output_dir)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    if args.child:
        if s.threads:
            torch.set_num_threads(s.threads)
        method, seed = args.child.split(":")
        record = run_method(method, s, int(seed))
        (runs_dir / f"{method}_seed{seed}.json").write_text(json.dumps(record, indent=1))
        return
    runs, started = [], time.perf_counter()
    forwarded = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--overwrite"]
    for seed in s.seeds:
        for method in s.methods:
            if method == "base" and seed != s.seeds[0]:
                continue  # untrained and evaluated with a fixed sampling seed: the same for every seed
            path = runs_dir / f"{method}_seed{seed}.json"
            if s.overwrite or not path.exists():
                t0 = time.perf_counter()
                cmd = [sys.executable, __file__, *forwarded, "--child", f"{method}:{seed}"]
                env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
                done = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if done.returncode or not path.exists():
                    print(f"{method} seed {seed} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
                    continue
                print(f"done: {method} seed {seed} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
            record = json.loads(path.read_text())
            if record["settings"] != s.run_key():
                print(f"skipping {path}: saved with other settings; pass --overwrite", file=sys.stderr)
                continue
            runs.append(record)
    summary = summarize(runs)
    head = headline(runs, summary, s.budget)
    table = markdown(summary, head, s)
    print(table)
    (out / "table.md").write_text(table)
    results = {"settings": asdict(s), "summary": summary, "headline": head, "runs": runs}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    if summary:
        plot(runs, summary, s.budget, out / "reward_vs_samples.png")
    print(
        f"wrote {out}/table.md, results.json, reward_vs_samples.png in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
