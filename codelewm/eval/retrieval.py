"""Retrieval evaluation: score every pool with every method and collect per-query outcomes.

A method is an ``EnergyFn(query_rows, cand_ids) -> [q, c]`` energy matrix (lower = better). Latent
methods close over predicted after-latents (one per query row) and candidate latents (one per unique
after-state, encoded by *that model's own* target encoder) and use the exact (float64 direct-difference)
form of :func:`codelewm.model.objective.energy`; baselines close over texts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from codelewm.eval import baselines
from codelewm.eval.metrics import QueryMetrics, evaluate_pools
from codelewm.eval.pools import CandidateTable, Group
from codelewm.model.objective import energy

EnergyFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def latent_method(pred: torch.Tensor, cand_latents: torch.Tensor) -> EnergyFn:
    """Exact energies of predicted latents ``pred[query_rows]`` against ``cand_latents[cand_ids]``."""

    def fn(query_rows: np.ndarray, cand_ids: np.ndarray) -> np.ndarray:
        q = pred[torch.as_tensor(query_rows, dtype=torch.long)]
        c = cand_latents[torch.as_tensor(cand_ids, dtype=torch.long)]
        return energy(q, c, exact=True).cpu().numpy()

    return fn


def candidate_field(rows: list[dict[str, Any]], table: CandidateTable, side: str) -> list[Any]:
    """Per candidate id: ``after_<side>`` of its row, or ``before_<side>`` for an unchanged candidate
    (``side``: ``state`` for the text, ``ids`` for the tokens)."""
    return [rows[int(r)][f"{'before' if u else 'after'}_{side}"] for r, u in zip(table.rep_row, table.unchanged)]


def per_candidate(scores: np.ndarray) -> EnergyFn:
    """A method whose energy depends on the candidate alone (a language model's cross-entropy)."""

    def fn(q: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.broadcast_to(scores[np.asarray(c, dtype=np.int64)], (len(q), len(c)))

    return fn


def baseline_methods(rows: list[dict[str, Any]], table: CandidateTable, seed: int) -> dict[str, EnergyFn]:
    """copy, lexical, random and not_unchanged methods over ``rows`` (dicts with before_state,
    after_state, instruction)."""
    cand_text = candidate_field(rows, table, "state")
    rng = np.random.default_rng(seed)

    def copy(q: np.ndarray, c: np.ndarray) -> np.ndarray:
        return baselines.copy_energies([rows[int(i)]["before_state"] for i in q], [cand_text[int(j)] for j in c])

    def lexical(q: np.ndarray, c: np.ndarray) -> np.ndarray:
        return baselines.lexical_energies(
            [rows[int(i)]["before_state"] for i in q],
            [rows[int(i)]["instruction"] for i in q],
            [cand_text[int(j)] for j in c],
        )

    def random(q: np.ndarray, c: np.ndarray) -> np.ndarray:
        return baselines.random_energies(len(q), len(c), rng)

    return {
        "copy": copy,
        "lexical": lexical,
        "random": random,
        "not_unchanged": per_candidate(table.unchanged.astype(np.float64)),
    }


def evaluate_groups(groups: list[Group], method: EnergyFn) -> tuple[QueryMetrics, np.ndarray]:
    """Per-query metrics of one method over all groups; also the query row index of each entry."""
    pools: list[np.ndarray] = []
    trues: list[int] = []
    unchanged: list[int] = []
    qrows: list[int] = []
    for g in groups:
        e = np.asarray(method(g.query_rows, g.cand_ids), dtype=np.float64)
        if e.shape != (g.query_rows.size, g.cand_ids.size):
            raise ValueError(f"energy matrix shape {e.shape} != {(g.query_rows.size, g.cand_ids.size)}")
        for k in range(g.query_rows.size):
            pools.append(e[k])
            trues.append(int(g.true_pos[k]))
            unchanged.append(g.unchanged_pos)
            qrows.append(int(g.query_rows[k]))
    return evaluate_pools(pools, trues, unchanged), np.asarray(qrows, dtype=np.int64)


def evaluate_retrieval(
    pools: dict[str, list[Group]], methods: dict[str, EnergyFn], row_ids: list[str]
) -> tuple[dict[str, dict[str, QueryMetrics]], list[dict[str, Any]]]:
    """Metrics per pool and method, and rank rows (pool, method, query_id, rank, pool_size) for plots."""
    results: dict[str, dict[str, QueryMetrics]] = {}
    rank_rows: list[dict[str, Any]] = []
    for pool_name, groups in pools.items():
        results[pool_name] = {}
        for name, fn in methods.items():
            qm, qrows = evaluate_groups(groups, fn)
            results[pool_name][name] = qm
            rank_rows.extend(
                {
                    "pool": pool_name,
                    "method": name,
                    "query_id": row_ids[int(r)],
                    "rank": float(rk),
                    "pool_size": int(ps),
                }
                for r, rk, ps in zip(qrows, qm.rank, qm.pool_size)
            )
    return results, rank_rows
