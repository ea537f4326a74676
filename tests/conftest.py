"""Tiny models and tokenizers built in the tests: no downloads, seconds to train."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    PreTrainedTokenizerFast,
)

from rlreward.rewards import InstantReward, RewardOutput
from rlreward.rewards.base import pad_token_rewards

SPECIALS = ["<pad>", "<eos>", "<bos>"]
CHARS = list(string.ascii_lowercase + " .,!?")
#: Every printable ASCII character and the newline: enough for code, chat templates and any task's prompts.
PRINTABLE = sorted(set(string.printable) - set("\t\r\x0b\x0c"))

# A minimal chat template in the usual shape: role-tagged turns, then an open assistant turn.
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


class CountToken(InstantReward):
    """+1 at every occurrence of one token (``other`` elsewhere): a naturally per-token reward."""

    name = "count_token"
    per_token = "native"

    def __init__(self, token_id: int, other: float = 0.0):
        self.token_id, self.other = token_id, other

    def score(self, prompts, completions, completion_ids, **kwargs):
        rows = [[1.0 if t == self.token_id else self.other * (t % 3) for t in ids] for ids in completion_ids]
        return RewardOutput(
            torch.tensor([sum(r) for r in rows]), pad_token_rewards(rows, [len(r) for r in rows])
        )


def char_tokenizer(chars: list[str] = CHARS) -> PreTrainedTokenizerFast:
    """A character-level tokenizer: one token per character, specials first."""
    vocab = {tok: i for i, tok in enumerate(SPECIALS + chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<pad>"
    )


def tiny_llama_config(
    vocab_size: int, hidden: int = 32, layers: int = 2, max_positions: int = 256
) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        tie_word_embeddings=False,
    )


def tiny_llama(
    vocab_size: int, seed: int = 0, hidden: int = 32, layers: int = 2, max_positions: int = 256
) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_llama_config(vocab_size, hidden, layers, max_positions))
    model.generation_config.eos_token_id = 1
    model.generation_config.pad_token_id = 0
    return model


def tiny_config(cls, output_dir, **overrides):
    """A trainer config for tiny-model tests: plain prompts, short completions, no checkpoints, no
    samples, no progress bar; ``overrides`` set the rest."""
    base = dict(
        output_dir=str(output_dir),
        max_steps=2,
        batch_size=8,
        mini_batch_size=4,
        micro_batch_size=2,
        max_new_tokens=6,
        learning_rate=1e-2,
        use_chat_template=False,
        progress_bar=False,
        save_steps=0,
        sample_steps=0,
    )
    return cls(**{**base, **overrides})


def save_tiny_chat_model(folder: Path, seed: int = 0) -> Path:
    """Save a random tiny Llama and a printable-character tokenizer with a chat template to ``folder``.

    Loadable by name like any model folder (``--model_name_or_path folder``); 4,096 positions, so that
    code prompts (one token per character) fit.
    """
    tokenizer = char_tokenizer(PRINTABLE)
    tokenizer.chat_template = CHAT_TEMPLATE
    model = tiny_llama(len(tokenizer), seed=seed, max_positions=4096)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_reward_model(
    folder: Path, seed: int = 1, num_labels: int = 1, labels: list[str] | None = None
) -> Path:
    """Save a random tiny ``LlamaForSequenceClassification`` (one logit by default, or named ``labels``)
    and its tokenizer (that of :func:`save_tiny_chat_model`) to ``folder``."""
    tokenizer = char_tokenizer(PRINTABLE)
    torch.manual_seed(seed)
    config = tiny_llama_config(len(tokenizer), max_positions=4096)
    config.num_labels = num_labels
    if labels is not None:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
    LlamaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def tokenizer() -> PreTrainedTokenizerFast:
    return char_tokenizer()


@pytest.fixture
def policy(tokenizer) -> LlamaForCausalLM:
    return tiny_llama(len(tokenizer))


@pytest.fixture(scope="session")
def tiny_chat_model(tmp_path_factory) -> Path:
    """A saved tiny chat policy folder (see :func:`save_tiny_chat_model`), shared by the session."""
    return save_tiny_chat_model(tmp_path_factory.mktemp("tiny_chat_model"))


@pytest.fixture(scope="session")
def tiny_reward_model(tmp_path_factory) -> Path:
    """A saved tiny sequence-classifier folder (see :func:`save_tiny_reward_model`), shared by the session."""
    return save_tiny_reward_model(tmp_path_factory.mktemp("tiny_reward_model"))
