"""VADER sentiment as a reward, with per-token rewards from prefix differences.

VADER (Hutto & Gilbert, 2014) scores text with a sentiment lexicon and a few rules (negation,
intensifiers, "but", punctuation, capitals). Its ``compound`` score lies in ``[-1, 1]``. For a
completion ``y`` of ``T`` tokens and ``s = +1`` (``target="positive"``) or ``-1`` (``"negative"``):

    R = s * compound(y)                                    (sequence score)
    r_j = s * (compound(y_<=j) - compound(y_<j)),  compound(empty) = 0

so ``sum_j r_j = R`` exactly: the last potential is the completion text itself. A token that does not
change the decoded prefix (the first half of a multi-byte character, say) gets 0; a token that
completes "great" gets the jump in sentiment. VADER reads words, so prefix scores are cheap, and every
distinct prefix text is scored once and cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlreward.rewards.base import prompt_text
from rlreward.rewards.text import TextReward


class SentimentLexiconReward(TextReward):
    """VADER compound sentiment of the completion (optionally after its prompt), sign-flipped for a
    negative target.

    Args:
        tokenizer: the policy tokenizer; enables per-token rewards.
        decode: instead of ``tokenizer``, an ``ids -> text`` function.
        per_token: ``"prefix_delta"``, ``None``, or ``"auto"`` (``"prefix_delta"`` when a tokenizer or
            decode is given).
        target: ``"positive"`` rewards positive sentiment, ``"negative"`` negative sentiment.
        include_prompt: score ``prompt + completion`` (the prompt's own sentiment then lands on the first
            completion token) instead of the completion alone.
        stride: score every ``stride``-th prefix only.
        cache_size: how many prefix texts to keep scores for (the cache is cleared when full).

    Components (VADER's proportions of the scored text, not sign-flipped): ``pos``, ``neg``, ``neu``.

    >>> reward = SentimentLexiconReward()
    >>> reward(prompts=["The film was"], completions=[" wonderful"])
    [0.5719000101089478]
    """

    name = "vader"

    def __init__(
        self,
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        per_token: str | None = "auto",
        target: str = "positive",
        include_prompt: bool = False,
        stride: int = 1,
        cache_size: int = 65536,
    ):
        super().__init__(tokenizer, decode, per_token, stride)
        if target not in ("positive", "negative"):
            raise ValueError(f"target must be 'positive' or 'negative', got {target!r}.")
        self.target = target
        self.include_prompt = include_prompt
        self.cache_size = cache_size
        self._analyzer = None
        self._cache: dict[str, tuple[float, float, float, float]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # The analyzer (~1 MB of lexicon) and the cache are rebuilt on demand, not pickled.
        return {**self.__dict__, "_analyzer": None, "_cache": {}}

    def polarity(self, text: str) -> tuple[float, float, float, float]:
        """VADER ``(compound, pos, neg, neu)`` of ``text``, cached; the empty text is all zeros."""
        scores = self._cache.get(text)
        if scores is None:
            if self._analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                self._analyzer = SentimentIntensityAnalyzer()
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            p = self._analyzer.polarity_scores(text)
            scores = self._cache[text] = (p["compound"], p["pos"], p["neg"], p["neu"])
        return scores

    def score_texts(self, prompts, texts, **kwargs):
        sign = 1.0 if self.target == "positive" else -1.0
        if self.include_prompt:
            texts = [prompt_text(p) + t for p, t in zip(prompts, texts)]
        scores = [self.polarity(t) for t in texts]
        components = {
            "pos": [s[1] for s in scores],
            "neg": [s[2] for s in scores],
            "neu": [s[3] for s in scores],
        }
        return [sign * s[0] for s in scores], components


__all__ = ["SentimentLexiconReward"]
