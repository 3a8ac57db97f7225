"""Bootstrap CIs: coverage of the true mean, paired lift detects a real effect and not a null one."""

from __future__ import annotations

import numpy as np
import pytest

from codelewm.stats import bootstrap_ci, paired_bootstrap_lift


def test_bootstrap_ci_covers_true_mean_most_of_the_time() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    trials = 60
    for t in range(trials):
        x = rng.normal(loc=2.0, scale=1.0, size=200)
        mean, lo, hi = bootstrap_ci(x, n=500, seed=t)
        assert lo <= mean <= hi
        covered += lo <= 2.0 <= hi
    # nominal 95%; allow sampling noise over 60 trials
    assert covered / trials >= 0.85


def test_bootstrap_ci_is_deterministic_and_narrows_with_data() -> None:
    rng = np.random.default_rng(1)
    small = rng.binomial(1, 0.4, size=50).astype(float)
    large = rng.binomial(1, 0.4, size=5000).astype(float)
    assert bootstrap_ci(small, 300, seed=3) == bootstrap_ci(small, 300, seed=3)
    _, lo_s, hi_s = bootstrap_ci(small, 300, seed=3)
    _, lo_l, hi_l = bootstrap_ci(large, 300, seed=3)
    assert hi_l - lo_l < hi_s - lo_s


def test_paired_lift_excludes_zero_for_clear_effect() -> None:
    rng = np.random.default_rng(2)
    b = rng.binomial(1, 0.3, size=300).astype(float)
    a = np.maximum(b, rng.binomial(1, 0.4, size=300)).astype(float)  # a never worse, often better
    res = paired_bootstrap_lift(a, b, n=1000, seed=0)
    assert set(res) == {"lift", "lo", "hi", "p_le_0"}
    assert res["lo"] > 0
    assert res["p_le_0"] < 0.01
    assert res["lo"] <= res["lift"] <= res["hi"]


def test_paired_lift_includes_zero_without_effect() -> None:
    rng = np.random.default_rng(3)
    a = rng.binomial(1, 0.5, size=200).astype(float)
    b = rng.permutation(a)  # same distribution, no effect
    res = paired_bootstrap_lift(a, b, n=1000, seed=0)
    assert res["lo"] <= 0 <= res["hi"]
    assert 0.05 < res["p_le_0"] <= 1.0


def test_identical_methods_have_zero_lift() -> None:
    a = np.array([1.0, 0.0, 1.0, 1.0])
    res = paired_bootstrap_lift(a, a.copy(), n=100, seed=0)
    assert res == {"lift": 0.0, "lo": 0.0, "hi": 0.0, "p_le_0": 1.0}


@pytest.mark.parametrize(
    "call",
    [
        lambda: bootstrap_ci(np.array([]), 10, 0),
        lambda: bootstrap_ci(np.array([1.0, np.nan]), 10, 0),
        lambda: bootstrap_ci(np.ones((2, 2)), 10, 0),
        lambda: bootstrap_ci(np.ones(3), 0, 0),
        lambda: paired_bootstrap_lift(np.ones(3), np.ones(4), 10, 0),
        lambda: paired_bootstrap_lift(np.ones(3), np.ones(3), 10, 0, alpha=1.5),
    ],
)
def test_invalid_inputs_raise(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()
