"""Statistics shared by the benchmark scripts: paired bootstrap intervals, pass@k, best-of-k, seeds.

1. :func:`paired_bootstrap_ci`: the 95% percentile-bootstrap interval of the mean per-item difference
   ``after_i - before_i`` over the same items evaluated with the same sampling seeds (Efron &
   Tibshirani 1993, ch. 13). Items are resampled with replacement, 10,000 times, from a fixed seed,
   all at once with numpy.
2. :func:`pass_at_k`: the unbiased estimator of pass@k from ``n`` samples of which ``c`` pass (Chen et
   al. 2021, "Evaluating Large Language Models Trained on Code", eq. 1):
   ``1 - C(n - c, k) / C(n, k)``, computed as a product so that large ``n`` does not overflow.
3. :func:`expected_max_of_k`: the unbiased estimator of ``E[max of k samples]`` from ``n >= k`` samples
   (best-of-k for a continuous metric): with the samples sorted ``x_(1) <= ... <= x_(n)``, the ``i``-th
   smallest is the maximum of ``C(i - 1, k - 1)`` of the ``C(n, k)`` subsets of size ``k``, so
   ``E = sum_i C(i - 1, k - 1) / C(n, k) * x_(i)``. On 0/1 values it equals :func:`pass_at_k`.
4. :func:`median_range`: median, minimum and maximum over training seeds.
5. :func:`samples_to_threshold`: the first point of a curve (samples, metric) at or above a threshold.

Benchmarks are scripts, not a package: import this module with ``sys.path.insert(0, benchmarks/)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rlreward.stats import BOOTSTRAP_SEED, RESAMPLES, Interval, paired_bootstrap_ci  # noqa: F401 (re-exported)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct: ``1 - C(n - c, k) / C(n, k)``.

    >>> pass_at_k(4, 1, 2)  # 1 - C(3, 2) / C(4, 2) = 1 - 3/6
    0.5
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}.")
    if n - c < k:  # every subset of size k holds a correct sample
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)   (Chen et al.'s numerically stable form)
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def expected_max_of_k(values: Sequence[float], k: int) -> float:
    """Unbiased estimate of ``E[max of k samples]`` (best-of-k) from ``n >= k`` i.i.d. samples.

    The mean, over all ``C(n, k)`` subsets of size ``k`` of the samples, of the subset's maximum.

    >>> round(expected_max_of_k([0.0, 1.0, 2.0], 2), 6)  # subsets {0,1} {0,2} {1,2}: maxima 1, 2, 2
    1.666667
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"expected_max_of_k needs 1 <= k <= n, got n={n}, k={k}.")
    # weight of the i-th smallest (1-based): C(i-1, k-1) / C(n, k), zero for i < k; in logs for large n.
    i = np.arange(1, n + 1)
    weights = np.zeros(n)
    ok = i >= k
    log_w = _log_comb(i[ok] - 1, k - 1) - math.log(math.comb(n, k))
    weights[ok] = np.exp(log_w)
    return float((weights * x).sum())


def _log_comb(n: np.ndarray, k: int) -> np.ndarray:
    """``log C(n, k)`` elementwise for integer arrays ``n >= k >= 0``."""
    lgamma = np.vectorize(math.lgamma)
    return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0)


def median_range(values: Sequence[float]) -> tuple[float, float, float]:
    """``(median, min, max)`` of per-seed values, NaNs dropped; NaN for none."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    return (float(np.median(v)), float(v.min()), float(v.max()))


def fmt_median_range(values: Sequence[float], digits: int = 3) -> str:
    """``0.500 (0.400-0.600)``: the median over seeds and its range."""
    med, lo, hi = median_range(values)
    return f"{med:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def samples_to_threshold(
    xs: Sequence[float], ys: Sequence[float], threshold: float, interpolate: bool = False
) -> float | None:
    """Samples at which a curve first reaches ``threshold``; None if it never does.

    Args:
        xs: ``(m,)`` increasing sample counts of the curve's points (e.g. held-out checkpoints).
        ys: ``(m,)`` the metric at each point.
        interpolate: False: the first point with ``y >= threshold`` (what was measured); True: the
            crossing on the straight line between that point and the one before it.
    """
    if len(xs) != len(ys):
        raise ValueError(f"samples_to_threshold: {len(xs)} xs but {len(ys)} ys.")
    for j, (x, y) in enumerate(zip(xs, ys)):
        if y >= threshold:
            if not interpolate or j == 0:
                return float(x)
            x0, y0 = xs[j - 1], ys[j - 1]
            return float(x0 + (threshold - y0) * (x - x0) / (y - y0))
    return None


__all__ = [
    "BOOTSTRAP_SEED",
    "RESAMPLES",
    "Interval",
    "expected_max_of_k",
    "fmt_median_range",
    "median_range",
    "paired_bootstrap_ci",
    "pass_at_k",
    "samples_to_threshold",
]
