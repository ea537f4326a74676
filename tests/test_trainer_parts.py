"""The trainer's parts on their own: the update batch record, the run logger, the data order."""

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator

from rlreward.trainers.batch import UpdateBatch
from rlreward.trainers.data_order import local_batch, step_rows
from rlreward.trainers.logger import RunLogger


def test_update_batch_selects_rows_and_keeps_the_mini_batch_token_count():
    b, p, t = 4, 2, 3
    batch = UpdateBatch(
        input_ids=torch.arange(b * (p + t)).view(b, p + t),
        attention_mask=torch.ones(b, p + t),
        completion_ids=torch.arange(b * t).view(b, t),
        mask=torch.ones(b, t),
        old_logprobs=torch.zeros(b, t),
        advantages=torch.arange(b * t, dtype=torch.float32).view(b, t),
        num_tokens=torch.tensor(12.0),
    )
    part = batch.rows(torch.tensor([2, 0]))
    assert len(part) == 2 and part.old_values is None and part.num_tokens == 12
    assert part.advantages.tolist() == [[6.0, 7.0, 8.0], [0.0, 1.0, 2.0]]
    assert part["completion_ids"] is part.completion_ids  # dict-style access, as before


def test_run_logger_truncates_a_resumed_run_to_its_checkpoint(tmp_path):
    logger = RunLogger(tmp_path, Accelerator(cpu=True), "none")
    logger.start({"seed": 0})
    for step in (1, 2, 3):
        logger.log_step({"step": step, "rewards/mean": step / 10}, step)
    assert json.loads((tmp_path / "config.json").read_text()) == {"seed": 0}
    kept = logger.truncate(2)
    assert [m["step"] for m in kept] == [1, 2]
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    logger.log_samples(3, ["p"], ["c"], [0.5])
    logger.reset()
    assert not (tmp_path / "metrics.jsonl").exists() and not (tmp_path / "samples.jsonl").exists()


@pytest.mark.parametrize("world", [1, 2])
def test_data_order_covers_each_epoch_and_splits_prompts_with_their_completions(world):
    rows = [r for step in range(3) for r in step_rows(seed=0, step=step, prompts_per_step=4, data_size=6)]
    assert sorted(rows[:6]) == list(range(6))  # one epoch, each row once
    step = step_rows(0, 0, 4, 6)
    shards = [local_batch(0, 0, step, world, rank, k=2) for rank in range(world)]
    assert [r for rows_, _ in shards for r in rows_] == [r for r in step for _ in range(2)]
    seeds = [s for _, seeds_ in shards for s in seeds_]
    assert len(set(seeds)) == len(seeds)


def test_a_prompt_ending_with_an_assistant_turn_is_continued_not_answered():
    from conftest import PRINTABLE, char_tokenizer

    from rlreward.trainers.setup import tokenize_prompt

    tokenizer = char_tokenizer(PRINTABLE)
    tokenizer.chat_template = (  # the test template, without the newline after a final assistant turn
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}"
        "{% if not loop.last or m['role'] != 'assistant' %}{{ '\\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    user = {"role": "user", "content": "hi"}
    answered = tokenizer.decode(tokenize_prompt(tokenizer, [user]))
    prefilled = tokenizer.decode(
        tokenize_prompt(tokenizer, [user, {"role": "assistant", "content": "Topic:"}])
    )
    assert answered == "<user>hi\n<assistant>"
    assert prefilled == "<user>hi\n<assistant>Topic:"  # the policy writes on from "Topic:"


MALLOC_PROBE = """
import ctypes, sys
from rlreward.trainers.setup import retain_freed_memory
libc = ctypes.CDLL("libc.so.6")
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
applied = retain_freed_memory() if sys.argv[1] == "retain" else False
before = libc.mallinfo2().hblks
block = libc.malloc(64 * 2**20)
print(applied, libc.mallinfo2().hblks - before)
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        return sys.platform.startswith("linux") and hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc >= 2.33 (mallopt, mallinfo2)")
@pytest.mark.parametrize("mode,expected", [("retain", "True 0"), ("default", "False 1")])
def test_retain_freed_memory_serves_large_tensors_from_the_heap(mode, expected):
    """glibc mmaps a 64 MiB block of its own by default; after retain_freed_memory() it comes from the heap."""
    result = subprocess.run([sys.executable, "-c", MALLOC_PROBE, mode], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == expected.split()


def test_retain_freed_memory_leaves_training_bit_identical(tmp_path):
    """Where memory comes from must not change a single float of what training computes."""
    script = Path(__file__).parent / "scripts" / "train_tiny.py"
    for name, flags in (("retained", []), ("glibc", ["--glibc-malloc"])):
        result = subprocess.run(
            [sys.executable, str(script), str(tmp_path / name), "ppo", *flags],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    saved = torch.load(tmp_path / "retained" / "params_rank0.pt")
    retained, glibc = saved["final"], torch.load(tmp_path / "glibc" / "params_rank0.pt")["final"]
    assert any(not torch.equal(retained[name], p) for name, p in saved["initial"].items())  # it trained
    for name, param in retained.items():
        assert torch.equal(param, glibc[name]), name
