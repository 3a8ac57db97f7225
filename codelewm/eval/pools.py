"""Candidate pools for retrieval: one global pool and per-before-state sibling pools.

Candidates are *unique after-state texts*: two held-out rows whose edits produce byte-identical
after-states are one candidate, and both queries count it as their true answer (otherwise every method
would be penalised for an unresolvable tie). A pool is a ``Group``: the query rows that share it, the
candidate ids in it, and where each query's true candidate sits.

- global: all held-out after-states, capped at ``cap`` by a seeded hash order of row ids, so the sample
  does not depend on shard order and is identical for every method and run with the same seed.
- sibling: after-states sharing the query's ``before_key``; only pools with at least
  ``min_pool`` distinct candidates count, so that only the action can tell the candidates apart.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CandidateTable:
    """Unique after-states of a row set: ``cand_of_row[i]`` is row i's candidate id, ``rep_row[c]`` a row holding it."""

    cand_of_row: np.ndarray
    rep_row: np.ndarray

    @property
    def n(self) -> int:
        return int(self.rep_row.size)


@dataclass(frozen=True)
class Group:
    """Queries sharing one candidate pool."""

    query_rows: np.ndarray  # row indices of the queries
    cand_ids: np.ndarray  # candidate ids forming the pool
    true_pos: np.ndarray  # per query: position of its true candidate in cand_ids


def candidate_table(after_states: list[str]) -> CandidateTable:
    """Map each row to the id of its (deduplicated) after-state text, in first-seen order."""
    first: dict[str, int] = {}
    cand_of_row = np.empty(len(after_states), dtype=np.int64)
    reps: list[int] = []
    for i, text in enumerate(after_states):
        c = first.get(text)
        if c is None:
            c = first[text] = len(reps)
            reps.append(i)
        cand_of_row[i] = c
    return CandidateTable(cand_of_row=cand_of_row, rep_row=np.asarray(reps, dtype=np.int64))


def _make_group(rows: np.ndarray, table: CandidateTable) -> Group:
    cands = np.unique(table.cand_of_row[rows])  # sorted: deterministic pool order
    pos = {int(c): j for j, c in enumerate(cands)}
    true_pos = np.array([pos[int(table.cand_of_row[r])] for r in rows], dtype=np.int64)
    return Group(query_rows=np.asarray(rows, dtype=np.int64), cand_ids=cands, true_pos=true_pos)


def seeded_order(ids: list[str], seed: int) -> np.ndarray:
    """Row indices sorted by sha256(seed, id): a deterministic, order-independent shuffle."""
    keys = [hashlib.sha256(f"{seed}\x00{i}".encode()).hexdigest() for i in ids]
    return np.array(sorted(range(len(ids)), key=lambda k: (keys[k], ids[k])), dtype=np.int64)


def global_group(ids: list[str], table: CandidateTable, cap: int, seed: int) -> Group:
    """All rows (capped at ``cap`` distinct candidates by seeded order) querying one shared pool."""
    if cap < 2:
        raise ValueError(f"global pool cap must be >= 2, got {cap}")
    chosen: list[int] = []
    seen: set[int] = set()
    for r in seeded_order(ids, seed):
        c = int(table.cand_of_row[r])
        if c not in seen:
            if len(seen) >= cap:
                continue  # pool full: rows whose after-state is not in it cannot be queries
            seen.add(c)
        chosen.append(int(r))
    return _make_group(np.array(sorted(chosen), dtype=np.int64), table)


def sibling_groups(before_keys: list[str], table: CandidateTable, min_pool: int = 2) -> tuple[list[Group], int]:
    """One group per before_key with >= ``min_pool`` distinct after-states; also returns rows left out."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(before_keys):
        by_key[k].append(i)
    groups: list[Group] = []
    skipped = 0
    for key in sorted(by_key):
        rows = np.array(by_key[key], dtype=np.int64)
        if np.unique(table.cand_of_row[rows]).size < min_pool:
            skipped += rows.size
            continue
        groups.append(_make_group(rows, table))
    return groups, skipped
