"""Supervised fine-tuning baselines for the RL trainers, through TRL's ``SFTTrainer``.

RL should be compared with SFT at the same budget: here, one SFT example for every completion the RL run
would generate (``max_steps x batch_size``), the same LoRA adapter shape and learning rate, and prompts
tokenised exactly as the RL trainers tokenise them (:func:`~rlreward.trainers.base.tokenize_prompt`), so
the two are evaluated on equal terms. The loss is on the completion tokens only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from rlreward.trainers.base import lora_config, tokenize_prompt
from rlreward.trainers.config import RLConfig

Example = tuple[list[int], list[int]]  # (prompt ids, completion ids)


def train_sft(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Example],
    output_dir: str | Path,  # TRL's working folder; nothing is saved there
    config: RLConfig,
    *,
    epochs: int = 1,
    batch_size: int | None = None,
    learning_rate: float | None = None,
) -> tuple[Any, list[dict[str, float]]]:
    """Fine-tune a LoRA adapter on ``prompt + completion`` token ids (loss on the completion only) with
    TRL's ``SFTTrainer``; returns the trained ``PeftModel`` and TRL's log history.

    ``model`` is a base model (a fresh adapter shaped by ``config`` is added) or a ``PeftModel``, whose
    adapter is trained in place (an RL trainer's policy: it then evaluates and saves the SFT adapter).

    The completions are trained on exactly as given (end them with EOS to teach stopping). Defaults
    follow ``config``: ``mini_batch_size`` examples per optimizer step, its learning rate, seed and LoRA
    shape, a constant schedule.
    """
    from datasets import Dataset
    from peft import PeftModel
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    if not examples:
        raise ValueError("train_sft got no examples; pass (prompt ids, completion ids) pairs.")
    empty = next((i for i, (_, c) in enumerate(examples) if not c), None)
    if empty is not None:
        raise ValueError(f"SFT example {empty} has an empty completion; drop it or give it a target.")
    dataset = Dataset.from_dict(
        {
            "input_ids": [p + c for p, c in examples],
            "completion_mask": [[0] * len(p) + [1] * len(c) for p, c in examples],
        }
    )
    set_seed(config.seed)
    args = SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size or config.mini_batch_size,
        learning_rate=learning_rate or config.learning_rate,
        lr_scheduler_type="constant",
        max_grad_norm=config.max_grad_norm,
        completion_only_loss=True,
        max_length=None,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        gradient_checkpointing=config.gradient_checkpointing,
        seed=config.seed,
        disable_tqdm=not config.progress_bar,
    )
    peft_config = None if isinstance(model, PeftModel) else lora_config(config)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config
    )
    trainer.train()
    return trainer.accelerator.unwrap_model(trainer.model), trainer.state.log_history


def reference_examples(
    tokenizer: Any,
    dataset: Any,
    reference: Callable[[dict[str, Any]], str],
    config: RLConfig,
    eos_token_id: int,
) -> list[Example]:
    """``max_steps x batch_size`` SFT examples from ``dataset`` rows and their reference outputs.

    Rows are visited in a seeded random order, epoch after epoch, as an RL run of the same config visits
    prompts; the prompt is the row's ``prompt`` (or chat ``messages``) column tokenised as the RL trainers
    do, the completion ``reference(row)`` followed by EOS.
    """
    from rlreward.data.base import prompt_key

    columns = list(dataset.column_names)
    key = prompt_key(columns)
    if key is None:
        raise ValueError(f"The SFT dataset needs a 'prompt' (or chat 'messages') column; it has {columns}.")
    total, n = config.max_steps * config.batch_size, len(dataset)
    g = torch.Generator().manual_seed(config.seed)
    order = [i for _ in range(-(-total // n)) for i in torch.randperm(n, generator=g).tolist()][:total]
    cache: dict[int, Example] = {}
    for i in set(order):
        row = dataset[i]
        target = reference(row)
        if not isinstance(target, str) or not target.strip():
            raise ValueError(
                f"SFT reference of row {i} is {target!r}; every training row needs a non-empty one."
            )
        prompt_ids = tokenize_prompt(tokenizer, row[key], config.use_chat_template)
        cache[i] = (prompt_ids, tokenizer(target, add_special_tokens=False)["input_ids"] + [eos_token_id])
    return [cache[i] for i in order]
