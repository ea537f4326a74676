"""The trainer's file output in one place: config.json, metrics.jsonl, samples.jsonl, the model card, the tracker.

Only the main process writes; every method may be called on every process. A fresh run starts fresh
metrics and samples files; a resumed run keeps the lines up to its checkpoint's step and drops the rest,
so that ``metrics.jsonl`` always reads as one run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: CUDA allocations on a GPU, else the maximum resident set size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class RunLogger:
    """Writes a run's files under ``output_dir`` and feeds the tracker (``report_to``).

    Args:
        output_dir: the run folder.
        accelerator: decides which process writes, and logs to the tracker.
        report_to: ``none``, ``tensorboard`` or ``wandb``.
        logging_steps: send metrics to the tracker every N steps (``metrics.jsonl`` gets every step).
    """

    def __init__(
        self, output_dir: str | Path, accelerator: Accelerator, report_to: str, logging_steps: int = 1
    ):
        self.output_dir = Path(output_dir)
        self.accelerator = accelerator
        self.report_to = report_to
        self.logging_steps = logging_steps

    @property
    def metrics_file(self) -> Path:
        return self.output_dir / "metrics.jsonl"

    @property
    def samples_file(self) -> Path:
        return self.output_dir / "samples.jsonl"

    def reset(self) -> None:
        """A fresh run: remove the metrics and samples of an earlier run in the same folder."""
        if self.accelerator.is_main_process:
            self.metrics_file.unlink(missing_ok=True)
            self.samples_file.unlink(missing_ok=True)

    def truncate(self, step: int) -> list[dict[str, Any]]:
        """A run resumed at ``step``: drop the metrics of later steps; return the kept ones (main process)."""
        if not (self.accelerator.is_main_process and self.metrics_file.exists()):
            return []
        kept = [
            line for line in self.metrics_file.read_text().splitlines() if json.loads(line)["step"] <= step
        ]
        self.metrics_file.write_text("".join(line + "\n" for line in kept))
        return [json.loads(line) for line in kept]

    def start(self, config: dict[str, Any]) -> None:
        """Write ``config.json`` and start the tracker."""
        if self.accelerator.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "config.json").write_text(json.dumps(config, indent=2, default=str))
        if self.report_to != "none":
            self.accelerator.init_trackers(
                self.output_dir.name, config={k: str(v) for k, v in config.items()}
            )

    def log_step(self, metrics: dict[str, float], step: int) -> None:
        """Append one step's metrics to ``metrics.jsonl`` (and the tracker every ``logging_steps``)."""
        if not self.accelerator.is_main_process:
            return
        with open(self.metrics_file, "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if self.report_to != "none" and step % self.logging_steps == 0:
            self.accelerator.log(metrics, step=step)

    def log_samples(
        self, step: int, prompts: list[Any], completions: list[str], scores: list[float], n: int = 3
    ) -> None:
        """Append the first ``n`` completions with their rewards to ``samples.jsonl`` and print them."""
        if not self.accelerator.is_main_process:
            return
        rows = [
            {"step": step, "prompt": str(p)[-200:], "completion": comp, "reward": round(float(s), 4)}
            for p, comp, s in list(zip(prompts, completions, scores))[:n]
        ]
        with open(self.samples_file, "a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        table = "\n".join(
            f"  [{r['reward']:+.3f}] {r['prompt'][-60:]!r} -> {r['completion'][:100]!r}" for r in rows
        )
        tqdm.write(f"samples at step {step}:\n{table}")

    def end(self) -> None:
        if self.report_to != "none":
            self.accelerator.end_training()


def model_card(
    trainer_name: str, base_model: str, adapter_dir: str | Path, config: dict, metrics: dict
) -> str:
    """The README.md saved beside an adapter: how to load it, the config and the final metrics."""
    return (
        f"---\nlibrary_name: peft\nbase_model: {base_model}\ntags: [rlreward, {trainer_name}]\n---\n\n"
        f"# {trainer_name} adapter trained with rlreward\n\n"
        "```python\nfrom peft import AutoPeftModelForCausalLM\n"
        f'model = AutoPeftModelForCausalLM.from_pretrained("{adapter_dir}")\n```\n\n'
        f"## Config\n\n```json\n{json.dumps(config, indent=2, default=str)}\n```\n\n"
        f"## Final metrics\n\n```json\n{json.dumps(metrics, indent=2)}\n```\n"
    )
