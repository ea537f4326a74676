"""benchmarks/stats.py: hand-computed cases and brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import stats  # noqa: E402


# ---------------------------------------------------------------------------- paired bootstrap
def test_ci_of_a_constant_difference_is_that_constant():
    before = [0.1, 0.5, 0.9, 0.3]
    after = [b + 0.25 for b in before]
    ci = stats.paired_bootstrap_ci(after, before)
    assert ci.mean == pytest.approx(0.25)
    assert ci.low == pytest.approx(0.25) and ci.high == pytest.approx(0.25)
    assert ci.excludes_zero()


def test_ci_is_paired_not_two_sample():
    # Items differ a lot among themselves, but every item improves by 0.1 +- 0.01: a paired interval is
    # narrow and excludes 0; an unpaired comparison of the two means could not tell.
    rng = np.random.default_rng(3)
    before = rng.uniform(0, 1, size=50)
    after = before + 0.1 + rng.uniform(-0.01, 0.01, size=50)
    ci = stats.paired_bootstrap_ci(after, before)
    assert 0.09 < ci.low < ci.mean < ci.high < 0.11


def test_ci_covers_the_mean_and_matches_the_normal_width():
    rng = np.random.default_rng(0)
    d = rng.normal(0.2, 1.0, size=400)
    ci = stats.paired_bootstrap_ci(d)  # before=None: the interval of the mean itself
    assert ci.low < d.mean() < ci.high and ci.mean == pytest.approx(d.mean())
    # Percentile bootstrap of a mean of 400 normal values ~ mean +- 1.96 * s / sqrt(n).
    half = 1.96 * d.std(ddof=1) / math.sqrt(len(d))
    assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=0.06)


def test_ci_is_deterministic_and_seeded():
    after, before = [1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]
    assert stats.paired_bootstrap_ci(after, before) == stats.paired_bootstrap_ci(after, before)
    other = stats.paired_bootstrap_ci(after, before, seed=1, resamples=50)
    assert other.mean == pytest.approx(0.4)


def test_ci_of_two_items_by_hand():
    # d = (0, 1): every resample of 2 items has mean 0 (1/4), 0.5 (1/2) or 1 (1/4); the 2.5th percentile is
    # 0 and the 97.5th is 1.
    ci = stats.paired_bootstrap_ci([0.0, 1.0], [0.0, 0.0])
    assert (ci.mean, ci.low, ci.high) == (0.5, 0.0, 1.0)


def test_ci_rejects_unpaired_lengths_and_handles_no_items():
    with pytest.raises(ValueError, match="2 'after' items but 3 'before'"):
        stats.paired_bootstrap_ci([1.0, 2.0], [1.0, 2.0, 3.0])
    assert all(math.isnan(v) for v in stats.paired_bootstrap_ci([]))


# ---------------------------------------------------------------------------- pass@k and best-of-k
def brute_force_pass_at_k(outcomes: list[int], k: int) -> float:
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


def brute_force_max_of_k(values: list[float], k: int) -> float:
    subsets = list(itertools.combinations(values, k))
    return sum(max(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (5, 0), (5, 2), (8, 3), (8, 8), (10, 1)])
def test_pass_at_k_equals_enumeration(n, c):
    outcomes = [1] * c + [0] * (n - c)
    for k in range(1, n + 1):
        assert stats.pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(outcomes, k)), k


def test_pass_at_k_by_hand_and_limits():
    assert stats.pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert stats.pass_at_k(16, 4, 1) == pytest.approx(4 / 16)  # pass@1 is the pass rate
    assert stats.pass_at_k(16, 13, 4) == 1.0  # only 3 failures: every 4-subset holds a pass
    assert stats.pass_at_k(200, 0, 16) == 0.0
    with pytest.raises(ValueError, match="1 <= k <= n"):
        stats.pass_at_k(4, 1, 5)


def test_expected_max_of_k_equals_enumeration():
    rng = np.random.default_rng(1)
    values = rng.normal(size=9).round(3).tolist()
    values[3] = values[5]  # ties do not change it
    for k in range(1, 10):
        assert stats.expected_max_of_k(values, k) == pytest.approx(brute_force_max_of_k(values, k)), k
    assert stats.expected_max_of_k(values, 1) == pytest.approx(np.mean(values))
    assert stats.expected_max_of_k(values, 9) == pytest.approx(max(values))


def test_expected_max_of_k_on_pass_fail_is_pass_at_k():
    outcomes = [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    for k in (1, 4, 16):
        assert stats.expected_max_of_k(outcomes, k) == pytest.approx(stats.pass_at_k(16, 3, k))


def test_expected_max_of_k_for_many_samples_does_not_overflow():
    values = np.linspace(0.0, 1.0, 2001)
    # E[max of 2 uniform draws without replacement from an even grid on [0, 1]] -> 2/3.
    assert stats.expected_max_of_k(values, 2) == pytest.approx(2 / 3, abs=1e-3)
    assert stats.expected_max_of_k(values, 500) <= 1.0


# ---------------------------------------------------------------------------- seeds and curves
def test_median_range():
    assert stats.median_range([0.3, 0.1, 0.2]) == (0.2, 0.1, 0.3)
    assert stats.median_range([0.1, 0.4, float("nan")]) == pytest.approx((0.25, 0.1, 0.4))
    assert all(math.isnan(v) for v in stats.median_range([]))
    assert stats.fmt_median_range([0.3, 0.1, 0.2]) == "0.200 (0.100-0.300)"


def test_samples_to_threshold():
    xs, ys = [0, 32, 64, 96], [0.1, 0.2, 0.5, 0.6]
    assert stats.samples_to_threshold(xs, ys, 0.5) == 64
    assert stats.samples_to_threshold(xs, ys, 0.05) == 0
    assert stats.samples_to_threshold(xs, ys, 0.7) is None
    # Between (32, 0.2) and (64, 0.5): 0.35 is halfway, at 48 samples.
    assert stats.samples_to_threshold(xs, ys, 0.35, interpolate=True) == pytest.approx(48.0)
    with pytest.raises(ValueError, match="3 xs but 2 ys"):
        stats.samples_to_threshold([0, 1, 2], [0.0, 1.0], 0.5)


def test_auroc_counts_ties_half_and_its_interval_brackets_it():
    from rlreward.stats import auroc, auroc_interval

    assert auroc([0.5, 0.5], [1, 0]) == 0.5
    assert auroc([0.1, 0.2, 0.9], [0, 0, 1]) == 1.0
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.3).astype(float)
    scores = labels + rng.normal(0, 1, 300)
    interval = auroc_interval(scores, labels, resamples=500)
    assert interval.low < interval.mean < interval.high and interval == auroc_interval(
        scores, labels, resamples=500
    )
    with pytest.raises(ValueError, match="both classes"):
        auroc([0.1, 0.2], [1, 1])


def test_expected_calibration_error_is_zero_when_predictions_match_bin_rates():
    from rlreward.stats import expected_calibration_error

    assert expected_calibration_error([0.25] * 4, [1, 0, 0, 0]) == 0.0
    assert expected_calibration_error([1.0, 0.0], [0, 1]) == 1.0
