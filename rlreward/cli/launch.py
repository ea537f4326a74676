"""Launching: N CPU processes from ``accelerate launch --cpu``, and the thread count of a lone process."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path


def cpu_processes_requested(parent_argv: Sequence[str], env: dict[str, str]) -> int:
    """N of ``accelerate launch --cpu --num_processes N`` when that started this script as a single process.

    Without MPI (``--mpirun_hostfile``), accelerate 1.x runs ``--cpu --num_processes N`` as one plain
    process. ``parent_argv`` is the command line of this process's parent; 1 when nothing is missing.
    """
    if "WORLD_SIZE" in env or env.get("ACCELERATE_USE_CPU", "").lower() not in ("1", "true", "yes"):
        return 1
    args = list(parent_argv)
    if not any("accelerate" in a for a in args[:3]) or "launch" not in " ".join(args[:4]):
        return 1
    script = next((i for i, a in enumerate(args) if a.endswith(".py") and "accelerate" not in a), len(args))
    launcher = args[:script]  # the script's own flags come after it
    if "--cpu" not in launcher or any(a.startswith("--mpirun_hostfile") for a in launcher):
        return 1
    for i, a in enumerate(launcher):
        value = a.split("=", 1)[1] if a.startswith("--num_processes=") else None
        if a == "--num_processes" and i + 1 < len(launcher):
            value = launcher[i + 1]
        if value is not None and value.isdigit():
            return int(value)
    return 1


def _parent_argv() -> list[str]:
    try:
        return Path(f"/proc/{os.getppid()}/cmdline").read_bytes().decode().split("\0")
    except OSError:  # not Linux
        return []


def relaunch_cpu_processes() -> None:
    """Make ``accelerate launch --cpu --num_processes N script.py`` start N processes (gloo).

    When accelerate started one process for it (it needs MPI for more), replace this process with
    ``torch.distributed.run --standalone --nproc_per_node N`` running the same command line.
    """
    n = cpu_processes_requested(_parent_argv(), dict(os.environ))
    if n > 1:
        print(
            f"accelerate launch --cpu starts one process without MPI; starting {n} CPU processes with "
            "torch.distributed.run (gloo) instead.",
            file=sys.stderr,
            flush=True,
        )
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n)]
        os.execv(sys.executable, command + [sys.argv[0], *sys.argv[1:]])


def launched_by_accelerate_default_threads(parent_argv: Sequence[str], env: dict[str, str]) -> bool:
    """Whether ``OMP_NUM_THREADS=1`` is accelerate's default rather than the user's choice.

    ``accelerate launch`` without ``--num_cpu_threads_per_process`` sets ``OMP_NUM_THREADS=1`` for
    the script when the variable was unset, so a lone process would use one core of many.
    """
    if env.get("OMP_NUM_THREADS") != "1" or int(env.get("WORLD_SIZE", "1")) > 1:
        return False
    joined = " ".join(parent_argv)
    return "accelerate" in joined and "launch" in joined and "--num_cpu_threads_per_process" not in joined


def choose_threads(requested: int | None) -> int | None:
    """Set torch's intra-op threads: ``requested`` when given; all cores of this process when it is the
    only one and accelerate's launcher chose 1 for it; else leave torch's choice. Returns what was set."""
    import torch

    if requested is not None:
        if requested < 1:
            raise ValueError(f"--num_threads must be at least 1, got {requested}.")
        torch.set_num_threads(requested)
        return requested
    if torch.cuda.is_available() or not launched_by_accelerate_default_threads(
        _parent_argv(), dict(os.environ)
    ):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(cores)
    return cores
