"""Train a tiny policy for a few steps; used by tests/test_distributed.py under `accelerate launch`.

Usage: python tests/scripts/train_tiny.py OUTPUT_DIR [ppo|reinforce] [--glibc-malloc]
(``--glibc-malloc``: ``retain_freed_memory=False``). Writes OUTPUT_DIR/params_rank<r>.pt (the
trainable parameters after training) on every rank.
"""

import sys
from pathlib import Path

import torch
from datasets import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import CountToken, char_tokenizer, tiny_config, tiny_llama  # noqa: E402

from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer  # noqa: E402


def main():
    out, algo = Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "ppo"
    tok = char_tokenizer()
    trainer_cls, config_cls = (
        (PPOTrainer, PPOConfig) if algo == "ppo" else (ReinforceTrainer, ReinforceConfig)
    )
    config = tiny_config(
        config_cls,
        out,
        max_steps=3,
        mini_batch_size=8,
        micro_batch_size=4,
        learning_rate=1e-3,
        use_peft=False,
        retain_freed_memory="--glibc-malloc" not in sys.argv,
    )
    ds = Dataset.from_dict({"prompt": ["hello", "abc", "the cat", "zz top"] * 2})
    trainer = trainer_cls(
        tiny_llama(len(tok)),
        CountToken(tok.convert_tokens_to_ids("a"), other=-0.1),
        ds,
        config,
        tokenizer=tok,
    )
    model = trainer.accelerator.unwrap_model(trainer.actor_critic)
    initial = {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}
    trainer.train()
    params = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    torch.save(
        {"initial": initial, "final": params}, out / f"params_rank{trainer.accelerator.process_index}.pt"
    )


if __name__ == "__main__":
    main()
