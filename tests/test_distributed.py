"""Two CPU processes (gloo) under `accelerate launch` against one process on the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).parent / "scripts" / "train_tiny.py"


def launch(out: Path, processes: int, algo: str) -> None:
    # accelerate 1.x starts several CPU processes through its multi-process launcher (torchrun);
    # the trainer sees no CUDA and joins them in a gloo group.
    mode = "--multi_gpu" if processes > 1 else "--cpu"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", mode, "--num_processes", str(processes)]
    cmd += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    result = subprocess.run(
        [*cmd, str(SCRIPT), str(out), algo], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.distributed
@pytest.mark.parametrize("algo", ["ppo", "reinforce"])
def test_two_processes_agree_with_each_other_and_with_one(algo, tmp_path):
    launch(tmp_path / "two", 2, algo)
    launch(tmp_path / "one", 1, algo)
    rank0 = torch.load(tmp_path / "two" / "params_rank0.pt")
    rank1 = torch.load(tmp_path / "two" / "params_rank1.pt")
    single = torch.load(tmp_path / "one" / "params_rank0.pt")
    for name in rank0["final"]:
        assert torch.equal(rank0["final"][name], rank1["final"][name]), f"ranks disagree on {name}"
    # Same prompts, same per-completion seeds, losses normalised by the global token count: the two
    # processes compute the single process's update, up to float summation order.
    flat = lambda d: torch.cat([v.flatten() for v in d.values()])  # noqa: E731
    update_two = flat(rank0["final"]) - flat(rank0["initial"])
    update_one = flat(single["final"]) - flat(single["initial"])
    assert torch.equal(flat(rank0["initial"]), flat(single["initial"]))
    assert update_one.norm() > 0
    relative = float((update_two - update_one).norm() / update_one.norm())
    cosine = float(torch.nn.functional.cosine_similarity(update_two, update_one, dim=0))
    assert relative < 1e-3 and cosine > 0.9999, (relative, cosine)
