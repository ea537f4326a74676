"""Statistics for before/after claims: the paired bootstrap interval of a mean per-item difference.

:func:`paired_bootstrap_ci` is the 95% percentile-bootstrap interval of the mean of
``after_i - before_i`` over the same items evaluated with the same sampling seeds (Efron & Tibshirani
1993, ch. 13): items are resampled with replacement, 10,000 times, from a fixed seed, all at once.
Recipes report it for every per-item task metric (``eval.json`` ``paired``); the benchmarks
(``benchmarks/stats.py``) add pass@k, best-of-k and seed summaries on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


class Interval(NamedTuple):
    """A point estimate with its confidence interval."""

    mean: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def fmt(self, digits: int = 3, signed: bool = True) -> str:
        """``+0.123 [+0.050, +0.200]``."""
        f = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
        return f"{f.format(self.mean)} [{f.format(self.low)}, {f.format(self.high)}]"


def paired_bootstrap_ci(
    after: Sequence[float],
    before: Sequence[float] | None = None,
    level: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """Mean of ``after_i - before_i`` with its percentile-bootstrap interval.

    Args:
        after, before: ``(n,)`` per-item metrics, item ``i`` the same prompt under the same evaluation
            seed in both; ``before=None`` gives the interval of the mean of ``after`` itself.
        level: coverage of the interval (0.95: the 2.5th and 97.5th percentiles of the resampled means).
        resamples: bootstrap resamples (each ``n`` items drawn with replacement).
        seed: the bootstrap's own seed: the same data always gives the same interval.

    Returns:
        ``Interval(mean, low, high)``; NaN everywhere for no items.
    """
    a = np.asarray(after, dtype=np.float64)
    if before is not None and len(a) != len(before):
        raise ValueError(f"paired_bootstrap_ci: {len(a)} 'after' items but {len(before)} 'before' items.")
    d = a if before is None else a - np.asarray(before, dtype=np.float64)
    n = len(d)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 4_000_000 // n)  # at most ~32 MB of indices at once
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))  # (r, n) resampled item indices
        means[start:stop] = d[idx].mean(axis=1)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return Interval(float(d.mean()), float(low), float(high))


def auroc(scores: Sequence[float], labels: Sequence[float]) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative
    (ties count half; the Mann-Whitney U statistic over ``n_pos * n_neg``). ``labels`` are 0/1.

    Example:
        >>> auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError(f"auroc: scores {s.shape} and labels {y.shape} must be two lists of one length.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("auroc: labels must be 0 or 1; threshold soft labels first.")
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        raise ValueError(f"auroc needs both classes; got {pos} positive and {neg} negative labels.")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties (1-based)
    start = 0
    while start < len(s):
        end = start
        while end + 1 < len(s) and sorted_s[end + 1] == sorted_s[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    u = ranks[y == 1].sum() - pos * (pos + 1) / 2
    return float(u / (pos * neg))


def expected_calibration_error(probs: Sequence[float], targets: Sequence[float], bins: int = 10) -> float:
    """ECE: over ``bins`` equal-width bins of the predicted probability, the row-weighted mean of
    ``|mean prediction - mean target|`` (Guo et al. 2017). ``targets`` are 0/1 or soft labels in [0, 1].

    Example:
        >>> round(expected_calibration_error([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]), 3)
        0.25
    """
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 1 or len(p) == 0:
        raise ValueError(f"expected_calibration_error: probs {p.shape} and targets {t.shape} must match.")
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.sum() * abs(p[in_bin].mean() - t[in_bin].mean())
    return float(total / len(p))


def auroc_interval(
    scores: Sequence[float], labels: Sequence[float], resamples: int = 2_000, seed: int = BOOTSTRAP_SEED
) -> Interval:
    """:func:`auroc` with its 95% percentile-bootstrap interval (items resampled with replacement;
    resamples with a single class are skipped)."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        pick = rng.integers(0, len(s), len(s))
        if 0 < y[pick].sum() < len(pick):
            values.append(auroc(s[pick], y[pick]))
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(auroc(s, y), float(low), float(high))
