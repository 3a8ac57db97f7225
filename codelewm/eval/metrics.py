"""Retrieval metrics from energy matrices: rank of the true candidate, R@k and reciprocal rank.

Ties are resolved by *expectation under uniform random tie-breaking* rather than optimistically or
pessimistically: a baseline such as token Jaccard produces many exact ties, and either fixed rule
would bias the comparison with the model. With ``b`` candidates strictly better than the true one and
``t`` others tied with it, the true candidate sits uniformly at positions ``b+1 .. b+t+1``, so
``R@k = |{r <= k}| / (t+1)`` and ``RR = mean(1/r)`` over those positions. Per-query values are kept so
paired bootstrap CIs can resample queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QueryMetrics:
    """Per-query retrieval outcomes (arrays of equal length, one entry per query)."""

    rank: np.ndarray  # expected 1-based rank (float: ties average)
    r1: np.ndarray
    r5: np.ndarray
    rr: np.ndarray  # reciprocal rank (expected under random tie-breaking)
    pool_size: np.ndarray
    # probability that the unchanged candidate ranks first (NaN where the pool has none)
    unchanged_first: np.ndarray | None = None

    def summary(self) -> dict[str, float]:
        n = int(self.rank.size)
        if n == 0:
            return {"r1": float("nan"), "r5": float("nan"), "mrr": float("nan"), "n_queries": 0, "pool_size_mean": 0.0}
        out = {
            "r1": float(self.r1.mean()),
            "r5": float(self.r5.mean()),
            "mrr": float(self.rr.mean()),
            "n_queries": n,
            "pool_size_mean": float(self.pool_size.mean()),
        }
        uf = self.unchanged_first
        if uf is not None and np.isfinite(uf).any():
            out["unchanged_first"] = float(np.nanmean(uf))
        return out


def query_outcome(energies: np.ndarray, true_idx: int, tol: float = 0.0) -> tuple[float, float, float, float]:
    """(expected rank, R@1, R@5, RR) of ``true_idx`` in one pool; lower energy = better.

    ``tol`` treats energies within ``tol`` of the true one as ties (0 = exact ties only).
    """
    e = np.asarray(energies, dtype=np.float64)
    if e.ndim != 1 or not 0 <= true_idx < e.size:
        raise ValueError(f"bad pool: shape {e.shape}, true index {true_idx}")
    if not np.all(np.isfinite(e)):
        raise ValueError("non-finite energy in pool")  # a NaN would silently sort last
    t_e = e[true_idx]
    others = np.delete(e, true_idx)
    better = int(np.sum(others < t_e - tol))
    ties = int(np.sum(np.abs(others - t_e) <= tol))
    positions = np.arange(better + 1, better + ties + 2, dtype=np.float64)
    return (
        float(positions.mean()),
        float(np.mean(positions <= 1)),
        float(np.mean(positions <= 5)),
        float(np.mean(1.0 / positions)),
    )


def first_probability(energies: np.ndarray, idx: int) -> float:
    """Probability that candidate ``idx`` ranks first (lowest energy, exact ties split evenly)."""
    e = np.asarray(energies, dtype=np.float64)
    best = e == e.min()
    return float(best[idx]) / float(best.sum())


def evaluate_pools(
    pool_energies: list[np.ndarray], true_idx: list[int], unchanged_idx: list[int] | None = None
) -> QueryMetrics:
    """Metrics for a list of pools (each a 1-D energy array) with the true candidate's index in each, and
    optionally the unchanged candidate's (-1 = none)."""
    if len(pool_energies) != len(true_idx):
        raise ValueError("one true index per pool")
    out = np.array([query_outcome(e, t) for e, t in zip(pool_energies, true_idx)], dtype=np.float64).reshape(-1, 4)
    sizes = np.array([len(e) for e in pool_energies], dtype=np.float64)
    uf = None
    if unchanged_idx is not None:
        uf = np.array([first_probability(e, u) if u >= 0 else np.nan for e, u in zip(pool_energies, unchanged_idx)])
    return QueryMetrics(rank=out[:, 0], r1=out[:, 1], r5=out[:, 2], rr=out[:, 3], pool_size=sizes, unchanged_first=uf)


def expected_random(pool_sizes: np.ndarray) -> dict[str, float]:
    """Analytic R@1, R@5 and MRR of a uniformly random ranking over pools of the given sizes."""
    sizes = np.asarray(pool_sizes, dtype=np.int64)
    if sizes.size == 0:
        return {"r1": float("nan"), "r5": float("nan"), "mrr": float("nan")}
    harmonic = np.array([np.sum(1.0 / np.arange(1, p + 1)) for p in sizes])
    return {
        "r1": float(np.mean(1.0 / sizes)),
        "r5": float(np.mean(np.minimum(5, sizes) / sizes)),
        "mrr": float(np.mean(harmonic / sizes)),
    }
