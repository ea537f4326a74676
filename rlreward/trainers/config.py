"""Trainer configs: one dataclass per trainer, every field with a help string.

They parse with ``trl.TrlParser`` (``--config file.yaml`` plus CLI overrides). ``__post_init__`` rejects
combinations that cannot work, with one sentence naming the field and the fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rlreward.rewards.shaping import STRATEGIES
from rlreward.rl.advantages import ADVANTAGE_ESTIMATORS
from rlreward.rl.kl import ESTIMATORS


def _help(text: str, default=None, factory=None):
    if factory is not None:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class RLConfig:
    """Fields shared by the PPO and REINFORCE trainers."""

    # --- run ---
    output_dir: str = _help("Where checkpoints, metrics, samples and the final adapter go.", "outputs/run")
    seed: int = _help("Seed for data order, sampling (per completion) and initialisation.", 0)
    max_steps: int = _help("Number of training steps (one rollout batch and its updates each).", 100)
    resume_from_checkpoint: str | None = _help(
        "A checkpoint folder to resume from, or 'latest' for the newest one in output_dir.", None
    )
    # --- batch ---
    batch_size: int = _help("Completions generated per step, over all processes.", 16)
    mini_batch_size: int = _help("Completions per optimizer step, over all processes.", 8)
    micro_batch_size: int = _help("Completions per forward/backward pass on one process (memory knob).", 8)
    num_epochs: int = _help("Passes over each rollout batch (PPO epochs).", 1)
    # --- generation ---
    max_prompt_length: int = _help("Longest prompt in tokens; longer prompts are an error at start.", 256)
    max_new_tokens: int = _help("Completion length limit in tokens.", 32)
    temperature: float = _help("Sampling temperature (logprobs use the same temperature).", 1.0)
    top_k: int = _help("Top-k filter when sampling; 0 disables it.", 0)
    top_p: float = _help("Nucleus filter when sampling; 1.0 disables it.", 1.0)
    use_chat_template: bool = _help("Wrap prompts in the tokenizer's chat template when it has one.", True)
    stop_strings: list[str] | None = _help(
        "Text that also ends a completion: it stops at the first token whose text contains one of these "
        "(e.g. a newline for one-line answers from a base model; \\n and \\t are read as newline and tab).",
        None,
    )
    # --- reward ---
    densify: str = _help(
        "How sequence scores become per-token rewards when the reward gives none: "
        "terminal | uniform | prefix_delta | attention.",
        "terminal",
    )
    missing_eos_penalty: float | None = _help(
        "Subtracted from the score of completions that hit max_new_tokens without EOS.", None
    )
    whiten_rewards: bool = _help(
        "Normalise per-token rewards over the batch before computing advantages.", False
    )
    # --- KL ---
    kl_coef: float = _help(
        "beta: weight of the per-token KL penalty -beta * kl_t folded into the rewards.", 0.05
    )
    kl_estimator: str = _help("Per-token KL estimator: k1 (log ratio), k2 or k3 (non-negative).", "k1")
    target_kl: float | None = _help("Adapt beta toward this KL per completion (None: fixed beta).", None)
    kl_horizon: int = _help("Horizon of the adaptive KL controller, in samples.", 10_000)
    # --- advantages ---
    advantage_estimator: str = _help(
        "gae: GAE with a value head (PPO only); rloo: per-token returns-to-go minus the leave-one-out "
        "mean of the other completions of the prompt at the same position; grpo: minus the group mean "
        "(optionally divided by the group std, scale_rewards). rloo and grpo need num_generations >= 2 "
        "and no value head. Default: gae for PPO, rloo for REINFORCE.",
        "gae",
    )
    num_generations: int = _help(
        "k: completions sampled per prompt (>= 2 for the rloo and grpo baselines); batch_size counts "
        "completions, so a step has batch_size / k prompts.",
        1,
    )
    gamma: float = _help("Discount factor of the returns (GAE and returns-to-go).", 1.0)
    scale_rewards: bool = _help(
        "grpo only: divide advantages by the std of the group's returns at each position (GRPO); off by "
        "default, as in Dr. GRPO, which removes this per-prompt weighting.",
        False,
    )
    baseline_per_source: bool = _help(
        "rloo/grpo only: compute the group baseline (and grpo's scaling) separately for each reward of a "
        "combined reward and for the KL penalty, then sum the advantages (PRIME, Cui et al. 2025). "
        "Without scaling it equals one baseline of the summed rewards (the baseline is linear).",
        False,
    )
    # --- optimisation ---
    learning_rate: float = _help("AdamW learning rate.", 1e-4)
    weight_decay: float = _help("AdamW weight decay.", 0.0)
    lr_scheduler_type: str = _help("transformers scheduler name: constant, linear, cosine, ...", "constant")
    warmup_steps: int = _help("Optimizer warmup steps.", 0)
    max_grad_norm: float = _help("Gradient clipping norm.", 1.0)
    clip_range: float = _help("PPO ratio clip epsilon for the policy loss.", 0.2)
    # --- model ---
    use_peft: bool = _help("Train a LoRA adapter (the reference is the model with the adapter off).", True)
    lora_r: int = _help("LoRA rank.", 16)
    lora_alpha: int = _help("LoRA alpha.", 32)
    lora_dropout: float = _help("LoRA dropout (0 keeps the first PPO epoch on-policy).", 0.0)
    lora_target_modules: list[str] = _help(
        "Module names to adapt, or ['all-linear'].", factory=lambda: ["all-linear"]
    )
    init_adapter: str | None = _help(
        "Start from this saved LoRA adapter folder (an SFT or earlier RL run) instead of a fresh one; "
        "the reference stays the base model.",
        None,
    )
    gradient_checkpointing: bool = _help("Trade compute for activation memory.", False)
    # --- logging and saving ---
    logging_steps: int = _help("Log metrics every N steps.", 1)
    eval_steps: int = _help(
        "Evaluate on the trainer's eval_dataset every N steps (0: never); eval/* join that step's metrics.", 0
    )
    sample_steps: int = _help("Log a table of sample completions every N steps (0: never).", 10)
    save_steps: int = _help("Checkpoint every N steps (0: only at the end).", 50)
    save_total_limit: int | None = _help("Keep at most this many checkpoints.", 2)
    report_to: str = _help("Tracker: none, tensorboard or wandb.", "none")
    progress_bar: bool = _help("Show a progress bar on the main process.", True)
    retain_freed_memory: bool = _help(
        "On Linux (glibc), keep freed memory in the process for the next step instead of returning it to "
        "the kernel (less system time, peak memory the step's high-water mark); process-wide.",
        True,
    )

    def __post_init__(self):
        def bad(message: str):
            raise ValueError(message)

        if self.densify not in STRATEGIES:
            bad(f"densify={self.densify!r} is not a strategy; choose one of {', '.join(STRATEGIES)}.")
        if self.kl_estimator not in ESTIMATORS:
            bad(f"kl_estimator={self.kl_estimator!r} is unknown; choose one of {', '.join(ESTIMATORS)}.")
        for name in (
            "batch_size",
            "mini_batch_size",
            "micro_batch_size",
            "num_epochs",
            "max_new_tokens",
            "max_steps",
        ):
            if getattr(self, name) < 1:
                bad(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.batch_size % self.mini_batch_size:
            bad(
                f"batch_size ({self.batch_size}) must be a multiple of mini_batch_size ({self.mini_batch_size}); "
                "change one of them."
            )
        if not self.learning_rate > 0:
            bad(f"learning_rate must be positive, got {self.learning_rate}; pass e.g. 1e-4.")
        if self.temperature < 0:
            bad(f"temperature must be >= 0, got {self.temperature}.")
        if self.target_kl is not None and self.target_kl <= 0:
            bad(f"target_kl must be positive or None, got {self.target_kl}.")
        if self.report_to not in ("none", "tensorboard", "wandb"):
            bad(f"report_to={self.report_to!r}: choose none, tensorboard or wandb.")
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = [self.lora_target_modules]
        if isinstance(self.stop_strings, str):
            self.stop_strings = [self.stop_strings]
        if self.stop_strings is not None:
            self.stop_strings = [x.replace("\\n", "\n").replace("\\t", "\t") for x in self.stop_strings]
            if not all(self.stop_strings):
                bad("stop_strings has an empty string, which every token contains; remove it.")
        self._check_advantages()

    def _check_advantages(self) -> None:
        estimator, k = self.advantage_estimator, self.num_generations
        if estimator not in ADVANTAGE_ESTIMATORS:
            raise ValueError(
                f"advantage_estimator={estimator!r} is unknown; choose one of {', '.join(ADVANTAGE_ESTIMATORS)}."
            )
        if k < 1:
            raise ValueError(f"num_generations must be at least 1, got {k}.")
        if estimator != "gae" and k < 2:
            raise ValueError(
                f"advantage_estimator={estimator!r} compares the completions of a prompt: set "
                f"num_generations >= 2 (got {k})."
            )
        if self.batch_size % k:
            raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of num_generations ({k}).")
        if self.scale_rewards and estimator != "grpo":
            raise ValueError(
                f"scale_rewards divides by the group std of grpo; with advantage_estimator={estimator!r} "
                "set scale_rewards=False or use grpo."
            )
        if self.baseline_per_source and estimator == "gae":
            raise ValueError(
                "baseline_per_source needs a group baseline (advantage_estimator rloo or grpo); GAE sums the "
                "reward sources per token."
            )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PPOConfig(RLConfig):
    """PPO over per-token rewards: GAE with a value head on the shared backbone (``advantage_estimator="gae"``),
    or a group baseline over ``num_generations`` completions per prompt and no value head (``rloo``, ``grpo``)."""

    num_epochs: int = _help("PPO epochs over each rollout batch.", 2)
    lam: float = _help("GAE lambda.", 0.95)
    vf_coef: float = _help("Weight of the value loss (gae only).", 0.1)
    clip_range_value: float = _help("Clip range of the value loss (gae only).", 0.2)
    whiten_advantages: bool = _help(
        "Whiten advantages over the batch (all processes): subtract their mean and divide by their std.", True
    )
    value_learning_rate: float | None = _help(
        "Learning rate of the value head (None: learning_rate; gae only).", None
    )


@dataclass
class ReinforceConfig(RLConfig):
    """REINFORCE with per-token returns-to-go and a group baseline (rloo or grpo) over k samples per prompt."""

    advantage_estimator: str = _help(
        "rloo: per-token returns-to-go minus the leave-one-out mean of the other completions of the prompt "
        "at the same position; grpo: minus the group mean (optionally divided by the group std, "
        "scale_rewards). REINFORCE has no value head, so gae is not available.",
        "rloo",
    )
    num_generations: int = _help("k: completions per prompt (>= 2, for the group baseline).", 4)
    normalize_advantages: bool = _help(
        "Whiten advantages over the batch (all processes): subtract their mean and divide by their std.",
        False,
    )

    def __post_init__(self):
        if self.advantage_estimator == "gae":
            raise ValueError(
                "advantage_estimator='gae' needs a value head: use PPOTrainer with PPOConfig, or rloo/grpo here."
            )
        super().__post_init__()
