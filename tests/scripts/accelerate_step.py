"""Two PPO steps with LoRA on a tiny policy, under whatever `accelerate launch` configured (tests/test_gpu.py).

Usage: accelerate launch --config_file recipes/accelerate/fsdp.yaml --num_processes 1 \\
    tests/scripts/accelerate_step.py OUTPUT_DIR
Writes OUTPUT_DIR/report.json on the main process: the distributed type, the steps taken, whether every
trainable parameter is finite and how many of them changed.
"""

import json
import sys
from pathlib import Path

import torch
from datasets import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import CountToken, char_tokenizer, tiny_config, tiny_llama  # noqa: E402

from rlreward.trainers import PPOConfig, PPOTrainer  # noqa: E402


def full(p: torch.Tensor) -> torch.Tensor:
    """A parameter as one plain tensor (FSDP2 holds DTensor shards)."""
    p = p.full_tensor() if hasattr(p, "full_tensor") else p
    return p.detach().float().cpu().clone()


def main() -> None:
    out = Path(sys.argv[1])
    tok = char_tokenizer()
    config = tiny_config(PPOConfig, out / "run", lora_r=4, lora_alpha=8)
    data = Dataset.from_dict({"prompt": ["hello", "abc", "the cat", "zz top"] * 2})
    reward = CountToken(tok.convert_tokens_to_ids("a"), other=-0.1)
    trainer = PPOTrainer(tiny_llama(len(tok)), reward, data, config, tokenizer=tok)
    params = lambda: {n: full(p) for n, p in trainer.actor_critic.named_parameters() if p.requires_grad}  # noqa: E731
    before = params()
    history = trainer.train()
    after = params()
    if trainer.accelerator.is_main_process:
        report = {
            "distributed_type": str(trainer.accelerator.distributed_type).split(".")[-1],
            "steps": len(history),
            "finite": all(bool(torch.isfinite(p).all()) for p in after.values()),
            "changed": sum(not torch.equal(before[n], after[n]) for n in before),
            "trainable": len(before),
            "rewards/mean": [h["rewards/mean"] for h in history],
        }
        (out / "report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
