"""Stage plumbing shared by every stage: funnel counting, quarantine, manifests, batched Parquet I/O.

One manifest format (``manifest.json``): each output file's sha256 and size, the parent manifests'
hashes, the params section(s) used with their hash, and the code version. One metrics format
(``metrics.json`` funnel): ``{"stage", "in", "kept", "dropped": {reason: n}}`` with the identity
``in == kept + sum(dropped)`` enforced when written.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codelewm.config import params_hash, to_dict
from codelewm.records import QUARANTINE_SCHEMA

PACKAGE_DIR = Path(__file__).resolve().parent


class AccountingError(RuntimeError):
    """The funnel does not add up: a row was lost or counted twice."""


@dataclass
class Funnel:
    """Counts rows in, kept and dropped per reason for one stage, and collects quarantined rows."""

    stage: str
    n_in: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def keep(self, n: int = 1) -> None:
        self.n_in += n
        self.kept += n

    def drop(self, reason: str, n: int = 1) -> None:
        self.n_in += n
        self.dropped[reason] += n

    def as_dict(self) -> dict[str, Any]:
        total = self.kept + sum(self.dropped.values())
        if total != self.n_in:
            raise AccountingError(f"{self.stage}: in={self.n_in} but kept+dropped={total}")
        return {
            "stage": self.stage,
            "in": self.n_in,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_total": sum(self.dropped.values()),
            **self.extra,
        }


class QuarantineWriter:
    """Streams quarantined rows to ``quarantine.parquet`` and counts them in the funnel."""

    def __init__(self, path: Path, stage: str, funnel: Funnel):
        self.path = Path(path)
        self.stage = stage
        self.funnel = funnel
        self._out = RecordWriter(self.path, QUARANTINE_SCHEMA)

    def add(self, row_id: str, reason: str, detail: str, source: str, payload: bytes | str) -> None:
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogatepass")
        self._out.write(
            {
                "id": row_id,
                "stage": self.stage,
                "reason": reason,
                "detail": detail[:500],
                "source": source,
                "payload": payload,
            }
        )
        self.funnel.drop(reason)

    def close(self) -> None:
        self._out.close()  # always writes the file (empty when nothing was dropped) so DVC outs exist

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_version() -> str:
    """Git commit of the checkout when available, plus a hash of the library sources (dirty trees)."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(p.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(p.read_bytes())
    src = h.hexdigest()[:16]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=PACKAGE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{commit or 'nogit'}+src.{src}"


def _expand(outputs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for o in outputs:
        o = Path(o)
        if o.is_dir():
            files.extend(sorted(p for p in o.rglob("*") if p.is_file() and p.name != "manifest.json"))
        elif o.exists():
            files.append(o)
        else:
            raise FileNotFoundError(f"declared output missing: {o}")
    return files


def write_manifest(
    out_dir: Path,
    stage: str,
    outputs: Iterable[Path],
    params: dict[str, Any] | None = None,
    parents: Iterable[Path] = (),
) -> dict[str, Any]:
    """Write ``out_dir/manifest.json`` describing ``outputs`` (files or dirs, recursively)."""
    out_dir = Path(out_dir)
    base = out_dir.resolve()
    files = {}
    for f in _expand(outputs):
        try:
            key = f.resolve().relative_to(base).as_posix()
        except ValueError:
            key = f.as_posix()
        files[key] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
    parent_info = {}
    for p in parents:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"parent manifest missing: {p}")
        parent_info[p.as_posix()] = sha256_file(p)
    params = params or {}
    manifest = {
        "stage": stage,
        "files": dict(sorted(files.items())),
        "parents": parent_info,
        "params": to_dict(params),
        "params_hash": params_hash(params),
        "code_version": code_version(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify_manifest(manifest_path: Path) -> list[str]:
    """Return a list of problems (missing file, size or sha256 mismatch); empty = intact."""
    manifest_path = Path(manifest_path)
    m = json.loads(manifest_path.read_text())
    problems = []
    for rel, info in m["files"].items():
        f = manifest_path.parent / rel
        if not f.exists():
            problems.append(f"missing: {rel}")
        elif f.stat().st_size != info["bytes"] or sha256_file(f) != info["sha256"]:
            problems.append(f"changed: {rel}")
    return problems


def write_json(path: Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")
    os.replace(tmp, path)


def write_metrics(path: Path, funnel: Funnel, **more: Any) -> dict[str, Any]:
    """Write the stage's funnel (and any extra metrics) as JSON; raises if the funnel doesn't add up."""
    data = {**funnel.as_dict(), **more}
    write_json(path, data)
    return data
