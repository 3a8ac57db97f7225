"""Row I/O over Parquet: streaming record writers and readers, packed-shard reading, and the GC pause
data stages run under.

:class:`RecordWriter` streams row dicts (or Arrow tables) into one file with a fixed schema;
:func:`iter_records` and :func:`read_rows` stream rows back; :func:`read_split` is the one reader of
packed shards (``<shards_dir>/<split>/*.parquet``) for training, indexing and evaluation.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "RecordWriter",
    "ShardError",
    "iter_records",
    "paused_gc",
    "read_rows",
    "read_split",
    "split_files",
]


class RecordWriter:
    """Streams record dicts to one Parquet file with a fixed schema, in row groups."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int = 1024):
        self.path = Path(path)
        self.schema = schema
        self.batch_rows = batch_rows
        self._rows: list[dict[str, Any]] = []
        self._tables: list[pa.Table] = []  # write_table's rows not yet in a row group
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._closed = False
        self.count = 0

    def write(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self.count += 1
        _GcPause.tick()
        if len(self._rows) >= self.batch_rows:
            self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Append Arrow rows (cast to the schema) without a round trip through Python objects; row
        groups are cut at ``batch_rows`` exactly as for :meth:`write`. Not to be mixed with it."""
        if self._rows:
            raise RuntimeError("RecordWriter: write_table after write (row order would be lost)")
        self._tables.append(table.select(self.schema.names).cast(self.schema))
        self._buffered += table.num_rows
        self.count += table.num_rows
        if self._buffered >= self.batch_rows:
            whole = pa.concat_tables(self._tables)
            cut = whole.num_rows - whole.num_rows % self.batch_rows
            for start in range(0, cut, self.batch_rows):
                self._write(whole.slice(start, self.batch_rows))
            self._tables, self._buffered = [whole.slice(cut)], whole.num_rows - cut

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, self.schema)
        self._writer.write_table(table)

    def _flush(self) -> None:
        if self._tables:
            rest = pa.concat_tables(self._tables)
            self._tables, self._buffered = [], 0
            if rest.num_rows:
                self._write(rest)
        if not self._rows:
            return
        # column-wise: Table.from_pylist converts row dicts many times slower (20x on nested lists);
        # a missing key is null exactly as with from_pylist
        cols = {name: [r.get(name) for r in self._rows] for name in self.schema.names}
        self._write(pa.Table.from_pydict(cols, schema=self.schema))
        self._rows = []

    def close(self) -> None:
        """Flush and finish the file (idempotent); an empty file is still written, with the schema."""
        if self._closed:
            return
        self._closed = True
        self._flush()
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(self.schema.empty_table(), self.path)
        else:
            self._writer.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _GcPause:
    """State of :func:`paused_gc`: rows left before the next safety-net collection (0 = not paused)."""

    every = 0
    left = 0

    @classmethod
    def tick(cls) -> None:
        if cls.every:
            cls.left -= 1
            if cls.left <= 0:
                gc.collect()
                cls.left = cls.every


@contextlib.contextmanager
def paused_gc(collect_every: int = 50_000) -> Iterator[None]:
    """Switch the automatic cyclic GC off while a data stage streams rows (usable as a decorator on the
    stage function), with a full collection after every ``collect_every`` rows written through
    :class:`RecordWriter` (quarantined rows included) as a safety net.

    Data stages allocate millions of container objects that reference counting alone frees (AST
    nodes, row dicts and token tuples form no cycles). Yet each young-generation pass scans every
    container still alive, and ASTs stay alive while they are indexed or cached (the fragment cache),
    so they were scanned again and again: about 6% of extract's CPU time even with a young-generation
    threshold of 50,000. The stages' per-row code creates no reference cycles (no recursive closures,
    no stored exceptions; tested in ``tests/data/test_gc.py``), so memory stays bounded without the
    automatic GC; the periodic collection bounds anything an unforeseen path leaves behind. The previous
    GC state is restored on exit, also on error.
    """
    was_enabled = gc.isenabled()
    prev = (_GcPause.every, _GcPause.left)
    gc.disable()
    _GcPause.every = _GcPause.left = collect_every
    try:
        yield
    finally:
        _GcPause.every, _GcPause.left = prev
        # no full pass on exit: it would scan every live object (the module-level parse caches are
        # big) to find nothing; any leftovers wait for the next automatic pass
        if was_enabled:
            gc.enable()


def iter_records(
    path: Path, batch_rows: int = 1024, columns: list[str] | None = None, shared: Iterable[str] = ()
) -> Iterator[dict[str, Any]]:
    """Stream rows of a Parquet file as dicts without loading the whole file.

    ``shared`` string columns are read dictionary-encoded and decoded once per distinct value in a
    batch: rows with equal values get the same Python string (siblings repeat their whole before file,
    so this saves a copy per row and lets caches keyed by it hash it once).
    """
    share = [c for c in shared if columns is None or c in columns]
    missing = set(share) - set(pq.read_schema(path).names)
    if missing:
        raise ValueError(f"{path}: no column(s) {sorted(missing)} to read as shared")
    pf = pq.ParquetFile(path, read_dictionary=share or None)
    for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
        if not share:
            yield from batch.to_pylist()
            continue
        cols = []
        for col in batch.columns:
            if pa.types.is_dictionary(col.type):
                values = col.dictionary.to_pylist()
                cols.append([None if i is None else values[i] for i in col.indices.to_pylist()])
            else:
                cols.append(col.to_pylist())
        names = batch.schema.names
        yield from (dict(zip(names, vals)) for vals in zip(*cols))


def read_rows(path: Path, indices: Iterable[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, row dict) for the given ascending row indices of a Parquet file; only the row groups
    that hold one are read (e.g. re-fetching the full payload of a few quarantined rows)."""
    pf = pq.ParquetFile(path)
    wanted = iter(indices)
    nxt = next(wanted, None)
    base, prev = 0, -1
    for rg in range(pf.num_row_groups):
        n = pf.metadata.row_group(rg).num_rows
        local = []
        while nxt is not None and nxt < base + n:
            if nxt <= prev:
                raise ValueError(f"read_rows: indices must be strictly ascending ({nxt} after {prev})")
            local.append(nxt)
            prev, nxt = nxt, next(wanted, None)
        if local:
            rows = pf.read_row_group(rg).take([i - base for i in local]).to_pylist()
            yield from zip(local, rows)
        base += n
    if nxt is not None:
        raise IndexError(f"{path}: row {nxt} out of range ({base} rows)")


class ShardError(FileNotFoundError):
    """A split directory is missing or holds no shards."""


def split_files(shards_dir: Path, split: str) -> list[Path]:
    """The shard files of one split, in name order; raises :class:`ShardError` when there are none."""
    d = Path(shards_dir) / split
    if not d.is_dir():
        raise ShardError(f"{d}: split directory missing (run the pack stage first)")
    files = sorted(d.glob("*.parquet"))
    if not files:
        raise ShardError(f"{d}: no shards in the split directory")
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
