"""Character- and word-level tokenizers for the text-reward tests (built here, no downloads)."""

import string

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast


def char_tokenizer() -> PreTrainedTokenizerFast:
    """One token per printable ASCII character; decode concatenates."""
    chars = sorted(set(string.printable) - set("\t\n\r\x0b\x0c"))
    vocab = {"<unk>": 0, "<eos>": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")


def word_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """GPT-2-like word pieces with their leading space (" good", "!"), vocabulary from ``texts``."""
    pre = pre_tokenizers.Split(Regex(r" ?[A-Za-z']+| ?[^A-Za-z'\s]"), behavior="isolated")
    pieces = sorted({piece for text in texts for piece, _ in pre.pre_tokenize_str(text)})
    tok = Tokenizer(
        models.WordLevel({"<unk>": 0, **{p: i + 1 for i, p in enumerate(pieces)}}, unk_token="<unk>")
    )
    tok.pre_tokenizer = pre
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")


def encode(tokenizer, texts):
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
