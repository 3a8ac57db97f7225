"""Candidate pools for retrieval: one global pool and per-before-state sibling pools.

Candidates are *unique after-state texts*: two held-out rows whose edits produce byte-identical
after-states are one candidate, and both queries count it as their true answer (otherwise every method
would be penalised for an unresolvable tie). A pool is a ``Group``: the query rows that share it, the
candidate ids in it, and where each query's true candidate sits.

- global: all held-out after-states, capped at ``cap`` by a seeded hash order of row ids, so the sample
  does not depend on shard order and is identical for every method and run with the same seed.
- sibling: after-states sharing the query's ``before_key``; only pools with at least
  ``min_pool`` distinct after-states count, so that only the action can tell the candidates apart.
  When the table has them, the pool also holds the *unchanged* candidate: the shared before-state read
  as a candidate that changes nothing. Every instruction asks for a change, so it is never the answer,
  and it is the candidate a copying scorer picks (its rate of ranking first is reported).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CandidateTable:
    """Unique after-states of a row set: ``cand_of_row[i]`` is row i's candidate id, ``rep_row[c]`` a row
    holding it. Unchanged candidates (``unchanged[c]``) follow the after-states: ``rep_row[c]`` is then a
    row whose *before*-state it is, and ``unchanged_of_row[i]`` row i's (-1 when the table has none)."""

    cand_of_row: np.ndarray
    rep_row: np.ndarray
    unchanged: np.ndarray
    unchanged_of_row: np.ndarray

    @property
    def n(self) -> int:
        return int(self.rep_row.size)

    @property
    def n_after(self) -> int:
        return int((~self.unchanged).sum())


@dataclass(frozen=True)
class Group:
    """Queries sharing one candidate pool."""

    query_rows: np.ndarray  # row indices of the queries
    cand_ids: np.ndarray  # candidate ids forming the pool
    true_pos: np.ndarray  # per query: position of its true candidate in cand_ids
    unchanged_pos: int = -1  # position of the unchanged candidate in cand_ids (-1 = none in the pool)


def _dedup(texts: list[str], offset: int) -> tuple[np.ndarray, list[int]]:
    first: dict[str, int] = {}
    ids = np.empty(len(texts), dtype=np.int64)
    reps: list[int] = []
    for i, text in enumerate(texts):
        c = first.get(text)
        if c is None:
            c = first[text] = offset + len(reps)
            reps.append(i)
        ids[i] = c
    return ids, reps


def candidate_table(after_states: list[str], before_states: list[str] | None = None) -> CandidateTable:
    """Map each row to the id of its (deduplicated) after-state text, in first-seen order; with
    ``before_states``, also one unchanged candidate per distinct before-state, numbered after them (so
    after-state ids do not depend on whether unchanged candidates are built)."""
    cand_of_row, reps = _dedup(after_states, 0)
    n_after = len(reps)
    unchanged_of_row = np.full(len(after_states), -1, dtype=np.int64)
    if before_states is not None:
        if len(before_states) != len(after_states):
            raise ValueError("one before-state per row")
        unchanged_of_row, ureps = _dedup(before_states, n_after)
        reps += ureps
    flags = np.zeros(len(reps), dtype=bool)
    flags[n_after:] = True
    return CandidateTable(cand_of_row, np.asarray(reps, dtype=np.int64), flags, unchanged_of_row)


def _make_group(rows: np.ndarray, table: CandidateTable, with_unchanged: bool = False) -> Group:
    cands = np.unique(table.cand_of_row[rows])  # sorted: deterministic pool order
    unchanged = np.unique(table.unchanged_of_row[rows]) if with_unchanged else np.empty(0, dtype=np.int64)
    if unchanged.size > 1 or (unchanged.size and unchanged[0] < 0):
        raise ValueError("a sibling pool's rows must share one before-state (and the table must have it)")
    cands = np.concatenate([cands, unchanged])
    pos = {int(c): j for j, c in enumerate(cands)}
    true_pos = np.array([pos[int(table.cand_of_row[r])] for r in rows], dtype=np.int64)
    upos = cands.size - 1 if unchanged.size else -1
    return Group(query_rows=np.asarray(rows, dtype=np.int64), cand_ids=cands, true_pos=true_pos, unchanged_pos=upos)


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
    """One group per before_key with >= ``min_pool`` distinct after-states (plus the unchanged candidate
    when the table has unchanged candidates); also returns the number of rows left out."""
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
        groups.append(_make_group(rows, table, with_unchanged=bool(table.unchanged.any())))
    return groups, skipped
