"""Which prompts a step trains on, and the sampling seed of each completion: functions of the seed and step.

Nothing here has state, so a resumed run needs no data state to repeat an uninterrupted one, and N
processes see exactly the rows and seeds one process would.
"""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=4)
def epoch_order(seed: int, epoch: int, data_size: int) -> tuple[int, ...]:
    """The seeded permutation of the dataset's rows for one pass over it."""
    g = torch.Generator().manual_seed(seed * 7919 + epoch)
    return tuple(torch.randperm(data_size, generator=g).tolist())


def step_rows(seed: int, step: int, prompts_per_step: int, data_size: int) -> list[int]:
    """The dataset rows of ``step`` over all processes: consecutive positions in the epoch permutations."""
    out = []
    for pos in range(step * prompts_per_step, (step + 1) * prompts_per_step):
        epoch, offset = divmod(pos, data_size)
        out.append(epoch_order(seed, epoch, data_size)[offset])
    return out


def local_batch(
    seed: int, step: int, rows: list[int], world: int, rank: int, k: int
) -> tuple[list[int], list[int]]:
    """This process's share of the step's ``rows``, each repeated ``k`` times (a prompt's completions stay
    together on one process), and one sampling seed per completion, from ``(seed, step, prompt, sample)``."""
    shard = len(rows) // world
    local_rows, seeds = [], []
    for j in range(rank * shard, (rank + 1) * shard):
        for g in range(k):
            local_rows.append(rows[j])
            seeds.append(hash((seed, step, j, g)) & 0x7FFFFFFF)
    return local_rows, seeds
