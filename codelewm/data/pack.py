"""Pack stage: deterministic Parquet shards per split + the pipeline-wide accounting identity.

Rows are sorted by (split, before_key, id) — siblings end up adjacent, and the order does not depend
on upstream streaming order — and written as ``<out>/<split>/part-NNNNN.parquet`` with exactly
``EXAMPLE_SCHEMA`` (explicit schema, ``schema_version`` column and ``codelewm.schema_version`` schema
metadata). Every split directory exists, holding at least one (possibly empty) shard, so
``datasets.load_dataset("parquet", data_dir=...)`` and DVC outs always resolve. Files are written
without wall-clock metadata, so packing the same input twice is byte-identical.

Accounting: the first upstream funnel's ``in`` (ingest) must equal the rows packed plus every stage's
dropped rows; :class:`AccountingError` otherwise — a row may never vanish without a reason.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codelewm.config import PackConfig
from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION, SPLITS
from codelewm.stageio import AccountingError, Stage

STAGE = "pack"
SHARD_SCHEMA = EXAMPLE_SCHEMA.with_metadata({b"codelewm.schema_version": str(SCHEMA_VERSION).encode()})


def _read_examples(input_path: Path) -> pa.Table:
    table = pq.read_table(input_path)
    if table.schema.remove_metadata() != EXAMPLE_SCHEMA:
        raise ValueError(f"{input_path}: schema differs from EXAMPLE_SCHEMA:\n{table.schema}")
    versions = pc.unique(table["schema_version"]).to_pylist()
    if versions and versions != [SCHEMA_VERSION]:
        raise ValueError(f"{input_path}: schema_version {versions}, expected {SCHEMA_VERSION}")
    return table


def _write_shard(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.cast(SHARD_SCHEMA), path, compression="zstd", write_statistics=True)


def pipeline_accounting(upstream_metrics: list[Path], packed: int) -> dict[str, Any]:
    """Check ``ingested == packed + sum(dropped over every stage)``; return the breakdown."""
    if not upstream_metrics:
        raise AccountingError("pack needs the upstream stage metrics (ingest first) to check accounting")
    funnels = [json.loads(Path(p).read_text()) for p in upstream_metrics]
    for prev, nxt in zip(funnels, funnels[1:]):  # each stage's input is the previous stage's output
        if prev["kept"] != nxt["in"]:
            raise AccountingError(f"{prev['stage']} kept {prev['kept']} but {nxt['stage']} read {nxt['in']}")
    if funnels[-1]["kept"] != packed:
        raise AccountingError(f"{funnels[-1]['stage']} kept {funnels[-1]['kept']} but pack read {packed}")
    dropped = {f["stage"]: sum(f["dropped"].values()) for f in funnels}
    ingested = funnels[0]["in"]
    if ingested != packed + sum(dropped.values()):
        raise AccountingError(f"ingested {ingested} != packed {packed} + dropped {sum(dropped.values())}")
    return {"ingested": ingested, "packed": packed, "dropped_by_stage": dropped}


def run_pack(cfg: PackConfig, input_path: Path, upstream_metrics: list[Path], out_dir: Path) -> dict[str, Any]:
    """Write sorted shards per split, metrics (per-split counts + accounting) and the manifest."""
    input_path = Path(input_path)
    if cfg.shard_rows < 1:
        raise ValueError(f"pack.shard_rows must be >= 1, got {cfg.shard_rows}")
    table = _read_examples(input_path)
    bad = sorted(set(table["split"].to_pylist()) - set(SPLITS))
    if bad:
        raise ValueError(f"{input_path}: unknown split values {bad}")
    accounting = pipeline_accounting(list(upstream_metrics), table.num_rows)
    table = table.sort_by([("split", "ascending"), ("before_key", "ascending"), ("id", "ascending")])
    parents = [input_path, *map(Path, upstream_metrics)]
    with Stage(STAGE, Path(out_dir), params={"pack": cfg}, parents=parents) as st:
        counts: Counter[str] = Counter()
        shards: dict[str, int] = {}
        for split in SPLITS:  # each split dir is staged whole: no stale shard of an earlier run survives
            part = table.filter(pc.equal(table["split"], split))
            counts[split] = part.num_rows
            n_shards = max(1, -(-part.num_rows // cfg.shard_rows))
            split_dir = st.output(split)
            for k in range(n_shards):
                _write_shard(part.slice(k * cfg.shard_rows, cfg.shard_rows), split_dir / f"part-{k:05d}.parquet")
            shards[split] = n_shards
        st.funnel.keep(table.num_rows)
        st.metrics.update(
            per_split={s: counts[s] for s in SPLITS},
            shards=shards,
            schema_version=SCHEMA_VERSION,
            before_states={
                s: len(set(table.filter(pc.equal(table["split"], s))["before_key"].to_pylist())) for s in SPLITS
            },
            accounting=accounting,
        )
    return st.result
