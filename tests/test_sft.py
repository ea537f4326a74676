"""The SFT baseline: examples built like RL prompts, TRL's SFTTrainer learning only the completions."""

import pytest
import torch
from conftest import CHAT_TEMPLATE, PRINTABLE, char_tokenizer, tiny_llama
from datasets import Dataset

from rlreward.trainers import PPOConfig
from rlreward.trainers.base import tokenize_prompt
from rlreward.trainers.sft import reference_examples, train_sft

ROWS = Dataset.from_dict(
    {"prompt": ["2+2?", "capital of France?", "color of sky?"], "answer": ["4", "Paris", "blue"]}
)


def config(tmp_path, **overrides):
    values = dict(output_dir=str(tmp_path), max_steps=2, batch_size=4, mini_batch_size=2, learning_rate=1e-2)
    values.update(overrides)
    return PPOConfig(**values, progress_bar=False)


@pytest.fixture
def chat_tokenizer():
    tokenizer = char_tokenizer(PRINTABLE)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def test_reference_examples_cover_the_budget_epoch_by_epoch(chat_tokenizer, tmp_path):
    c = config(tmp_path)  # 2 x 4 = 8 examples from 3 rows: every row once per pass of 3
    examples = reference_examples(chat_tokenizer, ROWS, lambda row: row["answer"], c, eos_token_id=1)
    assert len(examples) == 8
    by_prompt = {tuple(tokenize_prompt(chat_tokenizer, p)): a for p, a in zip(ROWS["prompt"], ROWS["answer"])}
    seen = []
    for prompt_ids, completion_ids in examples:
        answer = by_prompt[tuple(prompt_ids)]  # tokenised exactly as the RL trainers do
        assert completion_ids == chat_tokenizer(answer, add_special_tokens=False)["input_ids"] + [1]
        seen.append(answer)
    assert sorted(seen[:3]) == sorted(seen[3:6]) == sorted(ROWS["answer"])


def test_reference_examples_reject_a_missing_reference(chat_tokenizer, tmp_path):
    with pytest.raises(ValueError, match="SFT reference of row"):
        reference_examples(chat_tokenizer, ROWS, lambda row: None, config(tmp_path), eos_token_id=1)


def completion_fit(model, examples) -> tuple[float, float]:
    """(negative log-likelihood, share of tokens the model's argmax predicts) of the completions."""
    nll, hits, count = 0.0, 0, 0
    for prompt_ids, completion_ids in examples:
        ids = torch.tensor([prompt_ids + completion_ids])
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1]
        targets = torch.tensor(completion_ids)
        nll += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
        hits += int((logits.argmax(-1) == targets).sum())
        count += len(completion_ids)
    return nll, hits / count


def test_train_sft_learns_the_completions_through_a_lora_adapter(chat_tokenizer, tmp_path):
    c = config(tmp_path, max_steps=8)
    examples = reference_examples(chat_tokenizer, ROWS, lambda row: row["answer"], c, eos_token_id=1)
    model = tiny_llama(len(chat_tokenizer), max_positions=4096)
    unique = [list(map(list, e)) for e in dict.fromkeys((tuple(p), tuple(q)) for p, q in examples)]
    with torch.no_grad():
        nll_before, accuracy_before = completion_fit(model, unique)
    trained, log = train_sft(model, chat_tokenizer, examples, tmp_path / "sft", c, epochs=4)
    with torch.no_grad():
        nll_after, accuracy_after = completion_fit(trained, unique)
        with trained.disable_adapter():  # only the adapter moved
            assert completion_fit(trained, unique)[0] == pytest.approx(nll_before, rel=1e-5)
    # A random tiny model's logits are nearly flat (its lm_head is not adapted), so the NLL falls a
    # little while the argmax learns every answer.
    assert accuracy_before < 0.2 and accuracy_after == 1.0 and nll_after < nll_before
    assert any("loss" in h for h in log)
