"""Turning a GGUF checkpoint into a plain float32 Hugging Face folder (safetensors + tokenizer).

transformers can read a GGUF file directly, but it re-parses and dequantises it on every load (~20 s for
SmolLM2-135M) and marks the model as quantised, which blocks ``save_pretrained`` and some trainers. We do
that once, strip the quantiser state, save a plain checkpoint, and check that the saved model computes the
same logits as the GGUF-loaded one.
"""

from __future__ import annotations

import logging
from collections.abc import Container
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

logger = logging.getLogger("rlreward.models")

PAD_CANDIDATES = ("<pad>", "<|pad|>", "[PAD]", "<|endoftext|>")
"""Tokens that may serve as padding, in order of preference, when a tokenizer's pad token is its eos."""

DEFAULT_MAX_NEW_TOKENS = 256
"""``max_new_tokens`` saved in converted generation configs, replacing transformers' silent 20-token default."""

VERIFY_TEXT = "The capital of France is Paris. 2 + 2 = 4."
"""A short input on which the converted model's logits must equal the GGUF model's."""


class ConversionError(RuntimeError):
    """A converted checkpoint does not reproduce the source checkpoint."""


def strip_quantization_state(model: PreTrainedModel) -> PreTrainedModel:
    """Make a dequantised model look like one loaded from plain float weights, in place.

    transformers 5 marks a model loaded from GGUF with ``model.hf_quantizer``, ``model.quantization_method``,
    ``model.is_quantized``, ``config.quantization_config`` and ``config._is_quantized``; with any of them
    left, ``save_pretrained`` refuses to save (the GGUF quantiser is not serialisable) or writes a
    ``quantization_config`` that makes the next load look for GGUF again.

    Args:
        model: a model whose weights are already dense floating-point tensors.

    Returns:
        The same model.

    Raises:
        ConversionError: if a parameter is still packed (not floating point), so stripping the marks would
            save unusable weights.
    """
    packed = [name for name, param in model.named_parameters() if not param.is_floating_point()]
    if packed:
        raise ConversionError(
            f"The model still holds packed (quantised) weights, e.g. {packed[0]!r}; load the GGUF file with "
            "quantization_config=GgufConfig(dequantize=True) before stripping its quantisation state."
        )
    for attribute in ("hf_quantizer", "quantization_method"):
        if hasattr(model, attribute):
            delattr(model, attribute)
    model.is_quantized = False
    for module in model.modules():
        if isinstance(module, PreTrainedModel):
            config = module.config
            if hasattr(config, "quantization_config"):
                del config.quantization_config
            if getattr(config, "_is_quantized", False):
                config._is_quantized = False
    return model


def pick_pad_token(vocab: Container[str], eos_token: str, pad_token: str | None) -> str:
    """The pad token to save with a policy's tokenizer.

    Padding with the eos token makes collators that mask padding out of the loss also mask the one eos
    the policy must learn to emit, so a distinct token is preferred when the vocabulary has one.

    Args:
        vocab: the tokenizer's tokens.
        eos_token: the tokenizer's eos token.
        pad_token: the tokenizer's current pad token, if any.

    Returns:
        ``pad_token`` when it is set and differs from ``eos_token``; else the first of
        :data:`PAD_CANDIDATES` in ``vocab``; else ``eos_token``.

    Example:
        >>> pick_pad_token({"<|im_end|>", "<|endoftext|>"}, eos_token="<|im_end|>", pad_token="<|im_end|>")
        '<|endoftext|>'
    """
    if pad_token is not None and pad_token != eos_token:
        return pad_token
    for candidate in PAD_CANDIDATES:
        if candidate != eos_token and candidate in vocab:
            return candidate
    return eos_token


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, max_positions: int) -> None:
    """Give a GGUF-loaded tokenizer a distinct pad token and a finite ``model_max_length``, in place.

    Args:
        tokenizer: the tokenizer read from the GGUF file.
        max_positions: the model's context length (``config.max_position_embeddings``).
    """
    tokenizer.pad_token = pick_pad_token(tokenizer.get_vocab(), tokenizer.eos_token, tokenizer.pad_token)
    if tokenizer.model_max_length > max_positions:
        tokenizer.model_max_length = max_positions


def set_generation_defaults(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Align the model's pad/eos/bos ids with the tokenizer and drop surprising length limits, in place.

    The saved generation config stops at the tokenizer's eos (keeping any extra stop ids the GGUF file
    listed), pads with the tokenizer's pad token, has no ``max_length``, and sets ``max_new_tokens`` to
    :data:`DEFAULT_MAX_NEW_TOKENS` so that a bare ``generate()`` is not cut at transformers' default of 20
    tokens; callers (and TRL's trainers) override it.

    Args:
        model: a causal language model.
        tokenizer: its tokenizer, already passed through :func:`prepare_tokenizer`.
    """
    generation = model.generation_config
    eos_ids = generation.eos_token_id if isinstance(generation.eos_token_id, list) else []
    if tokenizer.eos_token_id not in eos_ids:
        eos_ids = [tokenizer.eos_token_id, *eos_ids]
    generation.eos_token_id = eos_ids[0] if len(eos_ids) == 1 else eos_ids
    generation.pad_token_id = tokenizer.pad_token_id
    generation.bos_token_id = tokenizer.bos_token_id
    generation.max_length = None
    generation.max_new_tokens = DEFAULT_MAX_NEW_TOKENS
    model.config.pad_token_id = tokenizer.pad_token_id


@torch.no_grad()
def verify_logits(reference: PreTrainedModel, converted: PreTrainedModel, input_ids: torch.Tensor) -> None:
    """Check that two models compute the same logits.

    Args:
        reference: the model as loaded from the source checkpoint.
        converted: the model reloaded from the converted folder.
        input_ids: ``(1, t)`` token ids.

    Raises:
        ConversionError: if the logits differ beyond float32 round-off.
    """
    expected = reference(input_ids=input_ids).logits
    actual = converted(input_ids=input_ids).logits
    if expected.shape != actual.shape or not torch.allclose(actual, expected, rtol=1e-4, atol=1e-4):
        max_error = (actual - expected).abs().max().item() if expected.shape == actual.shape else float("nan")
        raise ConversionError(
            f"The converted checkpoint's logits differ from the GGUF checkpoint's (max abs error {max_error:.3g}, "
            f"shapes {tuple(actual.shape)} vs {tuple(expected.shape)}); delete the partial cache and report "
            "the transformers version, since this is a conversion bug, not a download problem."
        )


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantise a GGUF causal LM to float32 and save it with its tokenizer as a Hugging Face folder.

    The saved tokenizer keeps the GGUF file's chat template, bos and eos tokens; its pad token is chosen by
    :func:`pick_pad_token` (for SmolLM2, ``<|endoftext|>`` rather than the eos ``<|im_end|>``). The saved
    model is reloaded and must reproduce the GGUF model's logits on :data:`VERIFY_TEXT`.

    Args:
        gguf_path: the ``.gguf`` file.
        out_dir: an empty or missing folder to write into.

    Raises:
        ConversionError: if the saved model or tokenizer does not reproduce the GGUF one.
    """
    source_dir, filename = str(gguf_path.parent), gguf_path.name
    logger.info("reading and dequantising %s", filename)
    model = AutoModelForCausalLM.from_pretrained(
        source_dir,
        gguf_file=filename,
        dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    tokenizer = AutoTokenizer.from_pretrained(source_dir, gguf_file=filename)
    strip_quantization_state(model)
    prepare_tokenizer(tokenizer, model.config.max_position_embeddings)
    set_generation_defaults(model, tokenizer)

    logger.info("saving float32 safetensors to %s", out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)

    logger.info("verifying the saved checkpoint against the GGUF one")
    saved_tokenizer = AutoTokenizer.from_pretrained(out_dir)
    input_ids = tokenizer(VERIFY_TEXT, return_tensors="pt").input_ids
    if saved_tokenizer(VERIFY_TEXT, return_tensors="pt").input_ids.tolist() != input_ids.tolist():
        raise ConversionError(
            f"The saved tokenizer in {out_dir} tokenises differently from the GGUF tokenizer; delete the "
            "partial cache and report the transformers version."
        )
    if tokenizer.chat_template and saved_tokenizer.chat_template != tokenizer.chat_template:
        raise ConversionError(f"The saved tokenizer in {out_dir} lost the GGUF file's chat template.")
    saved_model = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32)
    if getattr(saved_model.config, "quantization_config", None) is not None:
        raise ConversionError(f"The saved config in {out_dir} still has a quantization_config.")
    verify_logits(model, saved_model, input_ids)
