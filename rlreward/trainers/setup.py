"""What the trainers do once, before training: load and wrap the model, read the data, check the shapes.

Plain functions of the config (and of the model or tokenizer they prepare), so the trainer's
``__init__`` reads as a list of steps and each check can be tested on its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase, get_scheduler

from rlreward.rewards.base import InstantReward, as_instant
from rlreward.rewards.shaping import CombinedReward, with_per_token
from rlreward.trainers.config import RLConfig

# mallopt() parameters, from glibc's <malloc.h>.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
RETAINED_MALLOC = {M_MMAP_THRESHOLD: 2**30, M_TRIM_THRESHOLD: 2**31 - 1, M_TOP_PAD: 2**28}  # int values


def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for the next step instead of returning it to the kernel.

    By default glibc gives each tensor above its mmap threshold (128 KiB, rising to at most 32 MiB) its
    own ``mmap`` and ``munmap``s it when freed, and trims the heap's top beyond 128 KiB. A training step
    allocates and frees the same activation-sized tensors every micro-batch, so the kernel maps and
    zero-fills those pages again each time: system time, not arithmetic. Here every allocation below
    1 GiB comes from the heap, whose top is trimmed only beyond 2 GiB free and which grows 256 MiB at
    a time; peak memory is the step's high-water mark, as with PyTorch's own CUDA caching allocator.
    Process-wide; the trainers call it unless ``retain_freed_memory=False``. Returns whether glibc
    accepted it (False on other C libraries and systems, where nothing changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # musl, or no C library by that name
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in RETAINED_MALLOC.items())


def tokenize_prompt(
    tokenizer: PreTrainedTokenizerBase, prompt: Any, use_chat_template: bool = True
) -> list[int]:
    """A prompt's token ids as the trainers generate from them: a string or chat messages, through the
    chat template (with the assistant's generation prompt) when ``use_chat_template`` and the tokenizer
    has one, else the plain text. Messages that end with an assistant turn are a pre-filled answer:
    the policy continues that turn (``continue_final_message``, TRL's convention)."""
    if isinstance(prompt, str) and not prompt.strip():
        raise ValueError("Found an empty prompt; remove empty rows from the dataset.")
    if use_chat_template and tokenizer.chat_template:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        if messages and messages[-1].get("role") == "assistant":
            text = tokenizer.apply_chat_template(messages, continue_final_message=True, tokenize=False)
        else:
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


def check_world_size(config: RLConfig, world: int) -> None:
    """Prompts per step and mini-batches must split evenly over ``world`` processes and micro-batches."""
    prompts = config.batch_size // config.num_generations
    for name, value in (
        ("prompts per step (batch_size / k)", prompts),
        ("mini_batch_size", config.mini_batch_size),
    ):
        if value % world:
            raise ValueError(
                f"{name} = {value} is not divisible by the {world} processes; make it a multiple."
            )
    mini_local = config.mini_batch_size // world
    micro = min(config.micro_batch_size, mini_local)
    if mini_local % micro:
        raise ValueError(
            f"mini_batch_size per process ({mini_local}) must be a multiple of micro_batch_size ({micro})."
        )


def load_model(
    model: PreTrainedModel | str, tokenizer: PreTrainedTokenizerBase | None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model and its tokenizer: loaded by name (an embedded default or a folder), or as given."""
    if isinstance(model, str):
        from rlreward.models import load_causal_lm

        model, loaded_tokenizer = load_causal_lm(model)
        tokenizer = tokenizer or loaded_tokenizer
    if tokenizer is None:
        raise ValueError("Pass tokenizer= with a model object (or pass the model by name to load both).")
    return model, tokenizer


def eos_token_ids(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, stop_strings: Sequence[str] = ()
) -> list[int]:
    """The ids that end a completion: the generation config's, else the tokenizer's EOS, first; then
    every vocabulary token whose text contains one of ``stop_strings`` (in id order)."""
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = ids if ids is not None else tokenizer.eos_token_id
    ids = ids if isinstance(ids, list) else [ids]
    ids = [i for i in ids if i is not None]
    if not ids:
        raise ValueError("The tokenizer has no eos_token; set tokenizer.eos_token so completions can stop.")
    if stop_strings:
        texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))], skip_special_tokens=True)
        stops = [i for i, text in enumerate(texts) if i not in ids and any(s in text for s in stop_strings)]
        if not stops:
            raise ValueError(
                f"stop_strings={list(stop_strings)!r}: no token of the tokenizer contains one; change them."
            )
        ids += stops
    return ids


def wrap_policy(model: PreTrainedModel, config: RLConfig) -> nn.Module:
    """The trainable policy: a fresh LoRA adapter, a saved one (``init_adapter``), or the model itself."""
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = True
    if not config.use_peft:
        if config.init_adapter:
            raise ValueError("init_adapter needs use_peft=True (the adapter is trained on as LoRA).")
        return model
    from peft import PeftModel, get_peft_model

    if config.init_adapter:
        if not (Path(config.init_adapter) / "adapter_config.json").is_file():
            raise ValueError(
                f"init_adapter={config.init_adapter!r} has no adapter_config.json; pass a folder written by "
                "save_model() or peft's save_pretrained()."
            )
        return PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True)

    targets = config.lora_target_modules
    if targets != ["all-linear"]:
        names = {name.split(".")[-1] for name, _ in model.named_modules()}
        absent = [t for t in targets if t not in names]
        if absent:
            linear = sorted({n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
            raise ValueError(
                f"lora_target_modules {absent} are not in the model; choose from {linear} or 'all-linear'."
            )
    return get_peft_model(model, lora_config(config))


def prepare_dataset(
    dataset: Any,
    name: str,
    tokenizer: PreTrainedTokenizerBase,
    config: RLConfig,
    context_length: int | None = None,
) -> dict[str, Any]:
    """Tokenize prompts once; keep the other columns for the reward.

    Returns:
        ``{"prompts": [...], "ids": [[int]], "extra": {column: [...]}}``, one entry per row.
    """
    if dataset is None or len(dataset) == 0:
        raise ValueError(f"{name} is empty; pass a datasets.Dataset with a 'prompt' column.")
    columns = list(dataset.column_names) if hasattr(dataset, "column_names") else list(dataset[0].keys())
    key = "prompt" if "prompt" in columns else "messages" if "messages" in columns else None
    if key is None:
        raise ValueError(f"{name} needs a 'prompt' (or chat 'messages') column; it has {columns}.")
    prompts = list(dataset[key])
    ids = [tokenize_prompt(tokenizer, p, config.use_chat_template) for p in prompts]
    longest = max(range(len(ids)), key=lambda i: len(ids[i]))
    if len(ids[longest]) > config.max_prompt_length:
        raise ValueError(
            f"{name} row {longest} has {len(ids[longest])} prompt tokens, more than max_prompt_length="
            f"{config.max_prompt_length}; raise max_prompt_length or shorten the prompt."
        )
    if context_length and len(ids[longest]) + config.max_new_tokens > context_length:
        raise ValueError(
            f"{name} row {longest} has {len(ids[longest])} prompt tokens; with max_new_tokens="
            f"{config.max_new_tokens} that exceeds the model's context of {context_length} tokens; "
            "lower max_new_tokens or shorten the prompt."
        )
    extra = {c: list(dataset[c]) for c in columns if c != key}
    return {"prompts": prompts, "ids": ids, "extra": extra}


def build_reward(
    reward: Any | Sequence[Any],
    weights: Sequence[float] | None,
    config: RLConfig,
    decode: Callable[[list[int]], str],
) -> InstantReward:
    """The trainer's reward: several rewards combined (``weights``), then given per-token rewards by
    ``config.densify`` where they have none."""
    rewards = list(reward) if isinstance(reward, (list, tuple)) else [reward]
    combined = CombinedReward(rewards, weights) if len(rewards) > 1 or weights else rewards[0]
    out = with_per_token(as_instant(combined), config.densify, decode)
    if config.baseline_per_source and not isinstance(out, CombinedReward):
        raise ValueError(
            "baseline_per_source=True needs several reward sources: pass a list of rewards (or a "
            "CombinedReward) not wrapped in another reward, or set baseline_per_source=False."
        )
    return out


def check_reward_columns(reward: InstantReward, columns: Sequence[str], name: str) -> None:
    """Every dataset column the reward reads is in ``name`` (checked when the trainer starts)."""
    missing = [c for c in dict.fromkeys(reward.required_columns()) if c not in columns]
    if missing:
        raise ValueError(
            f"The reward '{reward.name}' reads the column(s) {missing}, which {name} lacks (it has "
            f"{sorted(columns)}); add them to the dataset or point the reward at other columns."
        )


def build_optimizer(param_groups: list[dict], config: RLConfig):
    """AdamW over ``param_groups`` and the learning-rate schedule over all of training's optimizer steps."""
    optimizer = torch.optim.AdamW(param_groups, lr=config.learning_rate, weight_decay=config.weight_decay)
    updates_per_step = config.num_epochs * (config.batch_size // config.mini_batch_size)
    scheduler = get_scheduler(
        config.lr_scheduler_type,
        optimizer,
        num_warmup_steps=config.warmup_steps,
        num_training_steps=config.max_steps * updates_per_step,
    )
    return optimizer, scheduler


def param_groups(actor_critic: nn.Module, value_learning_rate: float) -> list[dict]:
    """The optimizer's groups: the policy's trainable parameters, and the value head's (if any) at
    ``value_learning_rate``."""
    head = actor_critic.value_head
    head_params = list(head.parameters()) if head is not None else []
    head_ids = {id(p) for p in head_params}
    policy = [p for p in actor_critic.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": policy}]
    if head_params:
        groups.append({"params": head_params, "lr": value_learning_rate})
    return groups
