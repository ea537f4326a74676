"""Metric rewards: chrF and BLEU (sacrebleu), SQuAD exact match and token F1, length and repetition
penalties, and any Hugging Face ``evaluate`` metric.

The module has two layers:

1. Pure functions of text (``sentence_chrf``, ``sentence_bleu``, ``corpus_chrf``, ``corpus_bleu``,
   ``normalize_answer``, ``exact_match``, ``token_f1``, ``distinct_n``, ``repetition_rate``). chrF and
   BLEU are on sacrebleu's 0-100 scale so that they can be compared with published numbers.
2. Rewards (:class:`~rlreward.rewards.base.InstantReward`) built on them, on a 0-1 scale. Reference-based
   rewards read their references from a dataset column, which TRL passes to reward functions as a
   keyword argument holding one entry per completion.

Per-token ("instant") rewards come in two kinds:

* prefix differences (``per_token="prefix_delta"``, :class:`TextReward`): with ``phi(y_<=j)`` the metric of
  the text decoded from the first ``j + 1`` completion tokens and ``phi(empty) = 0``,

      r_j = phi(y_<=j) - phi(y_<j),    sum_j r_j = phi(y) = R,

  so the per-token rewards sum to the sequence score exactly (the last potential is the completion text
  itself, not a re-decoding). Prefixes that decode to the same text are scored once. This needs the
  policy tokenizer's ``decode``.
* native (``per_token="native"``): the reward is defined token by token (:class:`LengthPenalty`,
  :class:`RepetitionPenalty`), so no tokenizer is needed.
"""

from __future__ import annotations

import functools
import os
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
from sacrebleu.metrics import BLEU, CHRF

from rlreward.rewards.base import (
    InstantReward,
    RewardError,
    RewardOutput,
    pad_token_rewards,
    token_lengths,
)
from rlreward.rewards.text import TextReward, read_column, resolve_decode

# --------------------------------------------------------------------------------------------------
# Pure metric functions
# --------------------------------------------------------------------------------------------------


class _SentenceScorer:
    """Sentence-level sacrebleu scores with the reference statistics cached.

    ``sacrebleu``'s ``sentence_score`` re-extracts the reference n-grams on every call; prefix scoring
    calls it once per prefix with the same references, so they are extracted once here. Same numbers
    as ``metric.sentence_score(hyp, refs).score`` (tested).
    """

    def __init__(self, metric: BLEU | CHRF, max_cached: int = 4096):
        self.metric = metric
        self.max_cached = max_cached
        self._refs: dict[tuple[str, ...], Any] = {}

    def __call__(self, hyp: str, refs: Sequence[str]) -> float:
        key = tuple(refs)
        info = self._refs.get(key)
        if info is None:
            if len(self._refs) >= self.max_cached:
                self._refs.clear()
            info = self._refs[key] = self.metric._cache_references([[r] for r in refs])[0]
        stats = self.metric._compute_segment_statistics(self.metric._preprocess_segment(hyp), info)
        return float(self.metric._aggregate_and_compute([stats]).score)


@functools.cache
def _chrf_scorer(word_order: int) -> _SentenceScorer:
    return _SentenceScorer(CHRF(word_order=word_order))


@functools.cache
def _bleu_scorer() -> _SentenceScorer:
    return _SentenceScorer(BLEU(effective_order=True))


def _reference_list(refs: str | Sequence[str], what: str = "refs") -> list[str]:
    if isinstance(refs, str):
        return [refs]
    refs = list(refs)
    if not refs or not all(isinstance(r, str) for r in refs):
        raise ValueError(f"{what} must be a string or a non-empty list of strings, got {refs!r}.")
    return refs


def sentence_chrf(hyp: str, refs: str | Sequence[str], word_order: int = 0) -> float:
    """Sentence chrF (``word_order=2``: chrF++) of ``hyp`` against one or more references, 0-100.

    >>> round(sentence_chrf("the cat sat", "the cat sat"), 1)
    100.0
    """
    return _chrf_scorer(word_order)(hyp, _reference_list(refs))


def sentence_bleu(hyp: str, refs: str | Sequence[str]) -> float:
    """Sentence BLEU with effective order (sacrebleu's recommendation for single sentences), 0-100.

    >>> round(sentence_bleu("the cat sat on the mat", "the cat sat on the mat"), 1)
    100.0
    """
    return _bleu_scorer()(hyp, _reference_list(refs))


def _reference_streams(hyps: Sequence[str], refs: Sequence[str | Sequence[str]]) -> list[list[str | None]]:
    """Per-hypothesis references -> sacrebleu's reference streams (``None`` where a sample has fewer)."""
    if len(hyps) != len(refs):
        raise ValueError(
            f"Got {len(hyps)} hypotheses and {len(refs)} references; give one reference (a string or a "
            "list of strings) per hypothesis."
        )
    per_hyp = [_reference_list(r, f"refs[{i}]") for i, r in enumerate(refs)]
    width = max((len(r) for r in per_hyp), default=0)
    return [[r[k] if k < len(r) else None for r in per_hyp] for k in range(width)]


def corpus_chrf(hyps: Sequence[str], refs: Sequence[str | Sequence[str]], word_order: int = 0) -> float:
    """Corpus chrF, 0-100. ``refs[i]`` holds the reference(s) of ``hyps[i]``."""
    return float(CHRF(word_order=word_order).corpus_score(list(hyps), _reference_streams(hyps, refs)).score)


def corpus_bleu(hyps: Sequence[str], refs: Sequence[str | Sequence[str]]) -> float:
    """Corpus BLEU (sacrebleu defaults), 0-100. ``refs[i]`` holds the reference(s) of ``hyps[i]``."""
    return float(BLEU().corpus_score(list(hyps), _reference_streams(hyps, refs)).score)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lower case, drop punctuation, drop articles, collapse whitespace.

    >>> normalize_answer("The  Eiffel Tower!")
    'eiffel tower'
    """
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def _golds(golds: str | Sequence[str] | dict) -> list[str]:
    """Gold answers as a list; a SQuAD ``{"text": [...]}`` dict is accepted, and no answer means ``[""]``
    (SQuAD v2: the right answer to an unanswerable question is the empty string)."""
    if isinstance(golds, dict):
        golds = golds.get("text", [])
    if isinstance(golds, str):
        return [golds]
    golds = list(golds)
    if not all(isinstance(g, str) for g in golds):
        raise ValueError(f"Gold answers must be strings, got {golds!r}.")
    return golds or [""]


def exact_match(pred: str, golds: str | Sequence[str]) -> float:
    """1.0 if ``pred`` equals any gold answer after :func:`normalize_answer`, else 0.0.

    >>> exact_match("the Louvre.", ["Louvre", "Musée du Louvre"])
    1.0
    """
    pred = normalize_answer(pred)
    return float(any(pred == normalize_answer(g) for g in _golds(golds)))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:  # SQuAD v2: both empty is a match, one empty is not
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str, golds: str | Sequence[str]) -> float:
    """SQuAD token F1 of ``pred`` against its best-matching gold answer.

    F1 = 2PR / (P + R) over the bags of normalised words, ``P = |common| / |pred|``, ``R = |common| / |gold|``.

    >>> token_f1("Paris France", "Paris")  # P = 1/2, R = 1
    0.6666666666666666
    """
    pred_tokens = normalize_answer(pred).split()
    return max(_f1(pred_tokens, normalize_answer(g).split()) for g in _golds(golds))


def _ngrams(tokens: Sequence[Any], n: int) -> list[tuple[Any, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n (Li et al., 2016): distinct whitespace n-grams / all n-grams over ``texts``; 0 when none.

    >>> distinct_n(["a b a b"], n=2)  # (a b), (b a), (a b): 2 distinct of 3
    0.6666666666666666
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    grams = [g for text in texts for g in _ngrams(text.split(), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(tokens: str | Sequence[Any], n: int = 3) -> float:
    """Share of the n-grams of one sequence that repeat an earlier n-gram of it; 0 when it has none.

    ``tokens`` is a string (split on whitespace) or a sequence of tokens (ids or strings).

    >>> repetition_rate("a b a b", n=2)  # (a b) repeats once among 3 bigrams
    0.3333333333333333
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    grams = _ngrams(tokens.split() if isinstance(tokens, str) else list(tokens), n)
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


def _references(value: Any, i: int, column: str) -> list[str]:
    """One sample's references: a string or a non-empty list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and value and all(isinstance(r, str) for r in value):
        return list(value)
    raise RewardError(
        f"Sample {i}: column '{column}' must hold a reference string or a non-empty list of strings, got {value!r}."
    )


class _ReferenceReward(TextReward):
    """A sacrebleu sentence metric of the completion against the reference(s) in a dataset column, 0-1."""

    def __init__(
        self,
        reference_column: str = "reference",
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        per_token: str | None = "auto",
        stride: int = 1,
    ):
        super().__init__(tokenizer, decode, per_token, stride)
        self.reference_column = reference_column
        self.columns = (reference_column,)

    def scorer(self) -> Callable[[str, list[str]], float]:
        """``(text, references) -> score`` on sacrebleu's 0-100 scale."""
        raise NotImplementedError

    def score_texts(self, prompts, texts, **kwargs):
        refs = read_column(kwargs, self.reference_column, len(texts), self.name)
        scorer, col = self.scorer(), self.reference_column
        return [scorer(t, _references(r, i, col)) / 100.0 for i, (t, r) in enumerate(zip(texts, refs))], {}


class ChrFReward(_ReferenceReward):
    """Sentence chrF of the completion against the reference(s) in a dataset column, on a 0-1 scale.

    chrF (Popović, 2015) is the character n-gram F-score (``beta = 2``, orders 1-6; ``word_order=2``
    adds word uni- and bigrams: chrF++). With a tokenizer, token ``j`` is rewarded with the chrF gain of
    the prefix ending at it.

    >>> reward = ChrFReward()
    >>> reward(prompts=["Translate: Hallo"], completions=["hello"], reference=["hello"])
    [1.0]
    """

    name = "chrf"

    def __init__(
        self,
        reference_column: str = "reference",
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        per_token: str | None = "auto",
        word_order: int = 0,
        stride: int = 1,
    ):
        super().__init__(reference_column, tokenizer, decode, per_token, stride)
        self.word_order = word_order

    def scorer(self):
        return _chrf_scorer(self.word_order)


class BLEUReward(_ReferenceReward):
    """Sentence BLEU (effective order) against the reference(s) in a dataset column, on a 0-1 scale.

    >>> BLEUReward()(prompts=["p"], completions=["the cat sat on the mat"], reference=["the cat sat on the mat"])
    [1.0]
    """

    name = "bleu"

    def scorer(self):
        return _bleu_scorer()


class _AnswerReward(TextReward):
    answer_metric: Callable[[str, list[str]], float]

    def __init__(
        self,
        answers_column: str = "answers",
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        per_token: str | None = "auto",
        stride: int = 1,
    ):
        super().__init__(tokenizer, decode, per_token, stride)
        self.answers_column = answers_column
        self.columns = (answers_column,)

    def score_texts(self, prompts, texts, **kwargs):
        answers = read_column(kwargs, self.answers_column, len(texts), self.name)
        scores = []
        for i, (text, gold) in enumerate(zip(texts, answers)):
            try:
                golds = _golds(gold)
            except ValueError as err:
                raise RewardError(f"Sample {i}: column '{self.answers_column}': {err}") from err
            scores.append(self.answer_metric(text, golds))
        return scores, {}


class ExactMatchReward(_AnswerReward):
    """1 if the completion matches a gold answer after SQuAD normalisation, else 0.

    Gold answers come from ``answers_column``: a string, a list of strings, or a SQuAD ``{"text": [...]}``
    dict. Per token, the prefix differences are +1 where the prefix first matches and -1 where it stops
    matching, so most tokens get 0 and the sum is the final match.

    >>> ExactMatchReward()(prompts=["q"], completions=["The Louvre"], answers=[["Louvre"]])
    [1.0]
    """

    name = "exact_match"
    answer_metric = staticmethod(exact_match)


class TokenF1Reward(_AnswerReward):
    """SQuAD token F1 of the completion against its best gold answer (see :func:`token_f1`).

    Per token, ``r_j`` is the F1 gain of the prefix ending at token ``j``: positive on tokens that add
    gold words, negative on tokens that add other words.

    >>> TokenF1Reward()(prompts=["q"], completions=["Paris, France"], answers=[["Paris"]])
    [0.6666666865348816]
    """

    name = "token_f1"
    answer_metric = staticmethod(token_f1)


class MetricReward(TextReward):
    """Any ``evaluate`` metric, or any ``(prediction, reference) -> float`` function, as a reward.

    ``metric`` is one of:

    * a loaded ``evaluate.EvaluationModule``: called per sample as
      ``metric.compute(predictions=[text], references=[reference])``; ``key`` picks the number from the
      result dict (e.g. ``"score"`` for sacrebleu/chrf, ``"f1"`` for squad-like metrics);
    * a name or local script path for ``evaluate.load``, loaded on first use (the Hub must be reachable
      for names; a local ``my_metric.py`` defining an ``evaluate.Metric`` subclass works offline);
    * a plain callable ``(prediction: str, reference) -> float``.

    The reference is the sample's entry of ``reference_column`` as is. The score is multiplied by
    ``scale`` (e.g. 0.01 for 0-100 metrics). Each prefix costs one metric call when per-token rewards
    are on; the built-in :class:`ChrFReward` / :class:`BLEUReward` are much faster.

    >>> MetricReward(lambda pred, ref: float(pred == ref))(prompts=["p"], completions=["x"], reference=["x"])
    [1.0]
    """

    def __init__(
        self,
        metric: Any,
        key: str | None = None,
        reference_column: str = "reference",
        tokenizer: Any = None,
        decode: Callable[[list[int]], str] | None = None,
        per_token: str | None = "auto",
        scale: float = 1.0,
        stride: int = 1,
        load_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__(tokenizer, decode, per_token, stride)
        if not (isinstance(metric, str) or callable(metric) or hasattr(metric, "compute")):
            raise TypeError(
                f"metric must be an evaluate module, a name for evaluate.load, or a (prediction, reference) -> float "
                f"function; got {type(metric).__name__}."
            )
        self.metric = metric
        self.key = key
        self.reference_column = reference_column
        self.columns = (reference_column,)
        self.scale = scale
        self.load_kwargs = dict(load_kwargs or {})
        self._module: Any = None if isinstance(metric, str) else metric
        if isinstance(metric, str):  # a name, or the stem of a local script path
            name = os.path.splitext(os.path.basename(metric.rstrip("/")))[0] or metric
        else:
            name = getattr(metric, "name", None) or getattr(metric, "__name__", None) or type(metric).__name__
        self.name = str(name)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if isinstance(self.metric, str):  # re-loaded on first use; loaded modules hold locks
            state["_module"] = None
        return state

    def module(self) -> Any:
        """The metric, loading it with ``evaluate.load`` the first time when it was given by name."""
        if self._module is None:
            try:
                import evaluate

                self._module = evaluate.load(self.metric, **self.load_kwargs)
            except Exception as err:
                raise RewardError(
                    f"Could not fetch the evaluate metric {self.metric!r} ({type(err).__name__}: {err}). "
                    "evaluate.load needs the Hugging Face Hub for metric names; offline, pass a local metric "
                    "script path, a loaded module or a (prediction, reference) -> float function, or use the "
                    "built-in rewards ChrFReward, BLEUReward, ExactMatchReward, TokenF1Reward (sacrebleu, no "
                    "download)."
                ) from err
        return self._module

    def _one(self, text: str, reference: Any) -> float:
        metric = self.module()
        if hasattr(metric, "compute"):
            result = metric.compute(predictions=[text], references=[reference])
        else:
            result = metric(text, reference)
        if isinstance(result, dict):
            if self.key is None:
                numbers = [k for k, v in result.items() if isinstance(v, (int, float))]
                if len(numbers) != 1:
                    raise RewardError(
                        f"Metric '{self.name}' returned {sorted(result)}; pass key=<one of them> to MetricReward."
                    )
                result = result[numbers[0]]
            elif self.key not in result:
                raise RewardError(
                    f"Metric '{self.name}' returned no {self.key!r}; it returned {sorted(result)}."
                )
            else:
                result = result[self.key]
        if isinstance(result, torch.Tensor):
            result = result.item()
        return float(result) * self.scale

    def score_texts(self, prompts, texts, **kwargs):
        refs = read_column(kwargs, self.reference_column, len(texts), self.name)
        return [self._one(t, r) for t, r in zip(texts, refs)], {}


# --------------------------------------------------------------------------------------------------
# Rewards defined token by token
# --------------------------------------------------------------------------------------------------


class _TokenReward(InstantReward):
    """A reward defined on the policy's completion tokens: it needs the real ``completion_ids``."""

    per_token = "native"

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float]:
        if completion_ids is None:
            raise ValueError(
                f"Reward '{self.name}' counts the policy's completion tokens: call it with completion_ids "
                "(TRL's GRPO/RLOO trainers pass them)."
            )
        return super().__call__(prompts, completions, completion_ids, **kwargs)


class LengthPenalty(_TokenReward):
    """A cost for every completion token beyond ``target_tokens``.

    ``r_j = -per_token_cost`` for ``j >= target_tokens`` (0-based), else 0, so the sequence score is
    ``-per_token_cost * max(0, T - target_tokens)``.

    >>> LengthPenalty(target_tokens=2, per_token_cost=0.5).score(["p"], ["abcd"], [[1, 2, 3, 4]]).tokens
    tensor([[ 0.0000,  0.0000, -0.5000, -0.5000]])
    """

    name = "length_penalty"

    def __init__(self, target_tokens: int, per_token_cost: float = 0.01):
        if target_tokens < 0:
            raise ValueError(f"target_tokens must be >= 0, got {target_tokens}.")
        self.target_tokens = target_tokens
        self.per_token_cost = per_token_cost

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        lengths = token_lengths(completion_ids)
        width = max(lengths, default=0)
        positions = torch.arange(width)[None, :]
        lengths_t = torch.as_tensor(lengths, dtype=torch.long)[:, None]
        over = (positions >= self.target_tokens) & (positions < lengths_t)
        tokens = torch.where(over, -float(self.per_token_cost), 0.0).to(torch.float32)
        return RewardOutput(sequence=tokens.sum(dim=1), tokens=tokens)


class RepetitionPenalty(_TokenReward):
    """A penalty on the tokens that close an n-gram of completion tokens already seen in the completion.

    With ``m = T - n + 1`` n-grams in a completion of ``T`` tokens, token ``j >= n - 1`` closing an
    n-gram that occurred earlier gets ``r_j = -coef / m`` (``normalize=True``, so the sequence score is
    ``-coef * repetition_rate(ids, n)``, in ``[-coef, 0]``) or ``r_j = -coef`` (``normalize=False``: a
    fixed cost per repeat).

    >>> RepetitionPenalty(n=2).score(["p"], ["abab"], [[1, 2, 1, 2]]).tokens  # (1, 2) repeats at j = 3
    tensor([[ 0.0000,  0.0000,  0.0000, -0.3333]])
    """

    name = "repetition"

    def __init__(self, n: int = 3, coef: float = 1.0, normalize: bool = True):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}.")
        self.n, self.coef, self.normalize = n, coef, normalize

    def score(self, prompts, completions, completion_ids, **kwargs) -> RewardOutput:
        rows = []
        for ids in completion_ids:
            ids = list(ids)
            row = [0.0] * len(ids)
            m = len(ids) - self.n + 1
            cost = self.coef / m if self.normalize and m > 0 else self.coef
            seen: set[tuple[int, ...]] = set()
            for j in range(self.n - 1, len(ids)):
                gram = tuple(ids[j - self.n + 1 : j + 1])
                if gram in seen:
                    row[j] = -cost
                seen.add(gram)
            rows.append(row)
        tokens = pad_token_rewards(rows, token_lengths(completion_ids))
        sequence = torch.tensor([sum(r) for r in rows], dtype=torch.float32)
        return RewardOutput(sequence=sequence, tokens=tokens)


__all__ = [
    "BLEUReward",
    "ChrFReward",
    "ExactMatchReward",
    "LengthPenalty",
    "MetricReward",
    "RepetitionPenalty",
    "TextReward",
    "TokenF1Reward",
    "corpus_bleu",
    "corpus_chrf",
    "distinct_n",
    "exact_match",
    "normalize_answer",
    "read_column",
    "repetition_rate",
    "resolve_decode",
    "sentence_bleu",
    "sentence_chrf",
    "token_f1",
]
