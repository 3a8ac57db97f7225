"""Reading packed shards (``<shards_dir>/<split>/*.parquet``) for index and evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


class ShardError(FileNotFoundError):
    """A split directory is missing or holds no shards."""


def split_files(shards_dir: Path, split: str) -> list[Path]:
    d = Path(shards_dir) / split
    files = sorted(d.glob("*.parquet"))
    if not d.is_dir():
        raise ShardError(f"{d}: split directory missing (run the pack stage first)")
    return files


def read_split(shards_dir: Path, split: str, columns: list[str] | None = None, limit: int = 0) -> list[dict[str, Any]]:
    """All rows of one split as dicts, in deterministic (file name, row) order; ``limit`` > 0 caps rows."""
    rows: list[dict[str, Any]] = []
    for f in split_files(shards_dir, split):
        for batch in pq.ParquetFile(f).iter_batches(batch_size=2048, columns=columns):
            rows.extend(batch.to_pylist())
            if limit and len(rows) >= limit:
                return rows[:limit]
    return rows
