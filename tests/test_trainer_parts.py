"""The trainer's parts on their own: the update batch record, the run logger, the data order."""

import json

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
