"""Checkpoints: trainable weights, optimizer, scheduler and trainer state, written atomically.

A checkpoint holds only what training changes (the LoRA adapter and value head, not the frozen
base model), so it stays small. RNG state is not stored: every step reseeds from
``(seed, step, rank)``, which makes a resumed run identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")


def trainable_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in module.named_parameters() if p.requires_grad}


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: dict[str, Any],
    total_limit: int | None = None,
) -> Path:
    """Write ``output_dir/checkpoint-<step>`` (tmp folder, then rename) and prune old ones."""
    output_dir = Path(output_dir)
    final = output_dir / f"checkpoint-{step}"
    tmp = output_dir / f".tmp-checkpoint-{step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(trainable_state_dict(module), tmp / "trainable.pt")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step, **state}, indent=2))
    for f in tmp.iterdir():  # make the bytes durable before the rename publishes them
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if total_limit:
        for old in list_checkpoints(output_dir)[:-total_limit]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def save_adapter(
    out: str | Path, policy: nn.Module, value_head: nn.Module | None, tokenizer: Any, card: str
) -> Path:
    """The final model: the adapter in PEFT format (or the full model), ``value_head.safetensors``, the
    tokenizer and ``README.md`` (the model card) in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    policy.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if value_head is not None:
        from safetensors.torch import save_file

        save_file(value_head.state_dict(), str(out / "value_head.safetensors"))
    (out / "README.md").write_text(card)
    return out


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints in ``output_dir``, oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in output_dir.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))]
    return [p for _, p in sorted(found) if (p / "trainer_state.json").exists()]


def resolve_checkpoint(output_dir: str | Path, resume_from_checkpoint: str | None) -> Path | None:
    """The checkpoint folder to resume from: ``'latest'`` picks the newest in ``output_dir``."""
    if resume_from_checkpoint in (None, "", "false", "False"):
        return None
    if resume_from_checkpoint in ("latest", "true", "True"):
        found = list_checkpoints(output_dir)
        return found[-1] if found else None  # nothing saved yet: start fresh
    path = Path(resume_from_checkpoint)
    if not (path / "trainer_state.json").exists():
        raise FileNotFoundError(
            f"resume_from_checkpoint={resume_from_checkpoint!r} is not a checkpoint folder (no "
            "trainer_state.json); pass a checkpoint-<step> folder or 'latest'."
        )
    return path


def _load(file: Path) -> Any:
    """``torch.load`` of one checkpoint file, or one sentence naming the file when it cannot be read."""
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise ValueError(
            f"Checkpoint file {file} is missing; delete {file.parent} to resume from the one before it."
        ) from error
    except Exception as error:  # truncated zip, bad pickle...
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"Checkpoint file {file} cannot be read ({type(error).__name__}: {cause[:120]}): it is truncated or "
            f"corrupt; delete {file.parent} to resume from the checkpoint before it, or start over with "
            "--overwrite_output_dir true."
        ) from error


def load_checkpoint(path: Path, module: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> dict:
    """Restore weights, optimizer and scheduler in place; return the trainer state dict."""
    weights = _load(path / "trainable.pt")
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    missing = [n for n, _ in trainable if n not in weights]
    if missing:
        raise ValueError(
            f"Checkpoint {path} does not match the model: {len(missing)} trainable parameters missing "
            f"(e.g. {missing[0]}); resume with the same model and LoRA settings."
        )
    shapes = [
        (n, tuple(weights[n].shape), tuple(p.shape)) for n, p in trainable if weights[n].shape != p.shape
    ]
    if shapes:
        name, saved, now = shapes[0]
        raise ValueError(
            f"Checkpoint {path} was trained with other shapes ({len(shapes)} tensors, e.g. {name}: {saved} "
            f"saved, {now} now: another lora_r or model?); resume with the checkpoint's model and LoRA "
            "settings, or start a new run in another --output_dir."
        )
    module.load_state_dict(weights, strict=False)
    optimizer.load_state_dict(_load(path / "optimizer.pt"))
    scheduler.load_state_dict(_load(path / "scheduler.pt"))
    return json.loads((path / "trainer_state.json").read_text())
