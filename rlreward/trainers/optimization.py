"""One optimizer step on a mini-batch: micro-batches with gradient accumulation, under Accelerate."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import replace

import torch
from accelerate import Accelerator

from rlreward.trainers.batch import UpdateBatch
from rlreward.trainers.metrics import Reduce

LossFn = Callable[[UpdateBatch], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def minibatch_step(
    batch: UpdateBatch,
    rows: torch.Tensor,
    micro_batch_size: int,
    compute_loss: LossFn,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler,
    accelerator: Accelerator,
    max_grad_norm: float,
) -> tuple[dict[str, float], bool]:
    """Accumulate the gradient of the mini-batch ``rows`` over micro-batches, clip it, and step.

    Losses are normalised by the mini-batch's token count over all processes, so the gradient is
    the same however the mini-batch is split into micro-batches and processes; DDP syncs once, on
    the last micro-batch. A non-finite gradient norm skips the step: a NaN never reaches the weights.

    Returns:
        the mini-batch's stats (each loss stat summed from its chunks' shares over processes, so it is
        the mini-batch's value; and ``losses/grad_norm``), and whether the step was applied.
    """
    reduce, world = Reduce(accelerator), accelerator.num_processes
    num_tokens = reduce.sum(batch.mask[rows].sum())
    chunks = [rows[i : i + micro_batch_size] for i in range(0, len(rows), micro_batch_size)]
    shares: dict[str, torch.Tensor] = {}
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        with contextlib.nullcontext() if last else accelerator.no_sync(model):
            loss, stats = compute_loss(replace(batch.rows(chunk), num_tokens=num_tokens))
            accelerator.backward(loss * world)  # DDP averages over processes; the loss is a global mean
        for k, v in stats.items():
            shares[k] = shares.get(k, 0.0) + v.detach().float()
    out = dict(zip(shares, reduce.vector_sum(torch.stack(list(shares.values()))).tolist())) if shares else {}
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    out["losses/grad_norm"] = float(grad_norm) if grad_norm is not None else 0.0
    applied = math.isfinite(out["losses/grad_norm"])
    if applied:
        optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return out, applied
