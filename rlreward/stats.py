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
