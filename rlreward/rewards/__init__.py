"""The reward-model module: sequence and per-token ("instant") rewards behind one interface.

Everything a user plugs in is importable from here::

    from rlreward.rewards import ClassifierReward, SentimentLexiconReward, ChrFReward, UnitTestReward

``ClassifierReward`` and ``UnitTestReward`` are imported on first use (module ``__getattr__``): the
classifier pulls in transformers when it loads a model and the code reward its sandbox, and neither
should cost or break ``import rlreward.rewards`` for users of the text rewards.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rlreward.rewards.base import (
    FunctionReward,
    InstantReward,
    Reward,
    RewardError,
    RewardOutput,
    as_instant,
    completion_text,
    evaluate_reward,
    prompt_text,
)
from rlreward.rewards.lexicon import SentimentLexiconReward
from rlreward.rewards.metrics import (
    BLEUReward,
    ChrFReward,
    ExactMatchReward,
    LengthPenalty,
    MetricReward,
    RepetitionPenalty,
    TokenF1Reward,
)
from rlreward.rewards.shaping import (
    STRATEGIES,
    CombinedReward,
    DensifiedReward,
    NormalizedReward,
    PrefixDeltaReward,
    densify,
    with_per_token,
)
from rlreward.rewards.text import PerTokenMode, TextReward, read_column, resolve_decode

if TYPE_CHECKING:
    from rlreward.rewards.classifier import ClassifierReward
    from rlreward.rewards.code import UnitTestReward

# name -> module that defines it, imported when the name is first looked up
_LAZY = {
    "ClassifierReward": "rlreward.rewards.classifier",
    "UnitTestReward": "rlreward.rewards.code",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "STRATEGIES",
    "BLEUReward",
    "ChrFReward",
    "ClassifierReward",
    "CombinedReward",
    "DensifiedReward",
    "ExactMatchReward",
    "FunctionReward",
    "InstantReward",
    "LengthPenalty",
    "MetricReward",
    "NormalizedReward",
    "PrefixDeltaReward",
    "RepetitionPenalty",
    "Reward",
    "RewardError",
    "RewardOutput",
    "SentimentLexiconReward",
    "TextReward",
    "PerTokenMode",
    "read_column",
    "resolve_decode",
    "TokenF1Reward",
    "UnitTestReward",
    "as_instant",
    "completion_text",
    "densify",
    "evaluate_reward",
    "prompt_text",
    "with_per_token",
]
