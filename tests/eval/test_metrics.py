import numpy as np
import pytest

from codelewm.eval.metrics import evaluate_pools, expected_random, query_outcome


def test_rank_list_r_at_k_and_mrr() -> None:
    pools = [np.array([0.1, 0.5, 0.9]), np.array([0.3, 0.2, 0.1, 0.0, 5, 6, 7]), np.array([1.0, 0.0])]
    qm = evaluate_pools(pools, [0, 3, 0])  # true ranks 1, 1, 2
    assert qm.rank.tolist() == [1, 1, 2]
    s = qm.summary()
    assert s["r1"] == pytest.approx(2 / 3)
    assert s["r5"] == 1.0
    assert s["mrr"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert s["pool_size_mean"] == pytest.approx(4.0)


def test_rank_beyond_five() -> None:
    e = np.arange(10, dtype=float)
    r, r1, r5, rr = query_outcome(e, 6)
    assert (r, r1, r5, rr) == (7, 0, 0, pytest.approx(1 / 7))


def test_ties_are_expected_under_random_tie_breaking() -> None:
    r, r1, r5, rr = query_outcome(np.array([1.0, 1.0, 1.0, 2.0]), 1)  # 2 others tied -> positions 1..3
    assert r == 2 and r1 == pytest.approx(1 / 3) and r5 == 1
    assert rr == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_nan_energy_fails_loudly() -> None:
    with pytest.raises(ValueError):
        query_outcome(np.array([0.0, np.nan]), 0)


def test_expected_random() -> None:
    e = expected_random(np.array([2, 10]))
    assert e["r1"] == pytest.approx((0.5 + 0.1) / 2)
    assert e["r5"] == pytest.approx((1 + 0.5) / 2)
    assert e["mrr"] == pytest.approx((1.5 / 2 + sum(1 / k for k in range(1, 11)) / 10) / 2)
