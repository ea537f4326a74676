"""Two CPU processes (gloo) under `accelerate launch` against one process on the same global batch."""

import json
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


@pytest.mark.distributed
def test_sentiment_recipe_runs_on_two_processes(tiny_chat_model, tmp_path):
    """The main recipe under 2 gloo processes: trains, evaluates the prompts split over ranks, saves once."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    cmd += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += [
        str(Path(__file__).parents[1] / "recipes" / "ppo_sentiment.py"),
        "--model_name_or_path",
        str(tiny_chat_model),
    ]
    cmd += ["--max_steps", "2", "--batch_size", "4", "--mini_batch_size", "4", "--micro_batch_size", "2"]
    cmd += ["--max_new_tokens", "6", "--eval_size", "5", "--save_steps", "1", "--progress_bar", "false"]
    cmd += ["--output_dir", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "report.md").exists() and (out / "adapter_model.safetensors").exists()
    assert (out / "checkpoint-1" / "trainer_state.json").exists()
    rows = (out / "samples_after.jsonl").read_text().splitlines()
    assert len(rows) == 5  # 3 prompts on rank 0, 2 on rank 1, gathered in order
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_accelerate_cpu_num_processes_starts_that_many_processes(tiny_chat_model, tmp_path):
    """`accelerate launch --cpu --num_processes 2` (one process in accelerate without MPI) runs on 2."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2"]
    cmd += [str(Path(__file__).parents[1] / "recipes" / "ppo_sentiment.py")]
    cmd += ["--model_name_or_path", str(tiny_chat_model), "--max_steps", "1", "--batch_size", "4"]
    cmd += ["--mini_batch_size", "4", "--micro_batch_size", "2", "--max_new_tokens", "4", "--eval_size", "3"]
    cmd += ["--save_steps", "0", "--progress_bar", "false", "--output_dir", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starting 2 CPU processes" in result.stderr
    assert json.loads((out / "eval.json").read_text())["processes"] == 2


@pytest.mark.parametrize(
    "parent,env,expected",
    [
        (["python", "/venv/bin/accelerate", "launch", "--cpu", "--num_processes", "2", "r.py"], {}, 2),
        (["python", "-m", "accelerate.commands.launch", "--num_processes=4", "--cpu", "r.py"], {}, 4),
        (["python", "/venv/bin/accelerate", "launch", "--cpu", "r.py", "--num_processes", "2"], {}, 1),
        (["python", "/venv/bin/accelerate", "launch", "--multi_gpu", "--num_processes", "2", "r.py"], {}, 1),
        (
            ["python", "/venv/bin/accelerate", "launch", "--cpu", "--num_processes", "2", "r.py"],
            {"WORLD_SIZE": "2"},
            1,
        ),
        (["bash", "run.sh", "--cpu", "--num_processes", "2"], {}, 1),
    ],
)
def test_cpu_processes_requested_reads_only_accelerates_own_flags(parent, env, expected):
    from rlreward.cli.launch import cpu_processes_requested

    assert cpu_processes_requested(parent, {"ACCELERATE_USE_CPU": "True", **env}) == expected
    assert cpu_processes_requested(parent, env) == 1  # not started by accelerate's CPU launcher
