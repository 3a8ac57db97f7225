"""Row I/O: streaming writers/readers, shard reading, the GC pause."""

import gc
import weakref
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codelewm.records import QUARANTINE_SCHEMA, TRANSITION_SCHEMA, stable_id
from codelewm.rowio import RecordWriter, ShardError, iter_records, paused_gc, read_rows, read_split
from codelewm.stageio import Funnel, QuarantineWriter


def _row(i: int) -> dict:
    return {
        "id": stable_id("t", str(i)),
        "source": "synthetic",
        "repo": "r",
        "path": "a.py",
        "symbol": "f",
        "license": "MIT",
        "instruction": "do it",
        "op": "rename_variable",
        "family": "edit",
        "instruction_kind": "literal",
        "before_file": "def f():\n    return 1\n",
        "before_index": "",
        "after_file": "def f():\n    return 2\n",
        "before_key": "k",
        "meta": "{}",
        "split": "",
    }


def test_write_table_cuts_the_same_row_groups_as_write(tmp_path: Path) -> None:
    rows = [_row(i) for i in range(7)]
    with RecordWriter(tmp_path / "rows.parquet", TRANSITION_SCHEMA, batch_rows=3) as w:
        for r in rows:
            w.write(r)
    with RecordWriter(tmp_path / "arrow.parquet", TRANSITION_SCHEMA, batch_rows=3) as w:
        for chunk in (rows[:1], rows[1:5], [], rows[5:]):  # uneven pieces, one empty
            w.write_table(pa.Table.from_pylist(chunk, schema=TRANSITION_SCHEMA))
        assert w.count == 7
    a, b = pq.ParquetFile(tmp_path / "rows.parquet"), pq.ParquetFile(tmp_path / "arrow.parquet")
    assert [a.metadata.row_group(i).num_rows for i in range(a.num_row_groups)] == [3, 3, 1]
    assert [b.metadata.row_group(i).num_rows for i in range(b.num_row_groups)] == [3, 3, 1]
    assert (tmp_path / "rows.parquet").read_bytes() == (tmp_path / "arrow.parquet").read_bytes()
    with RecordWriter(tmp_path / "mixed.parquet", TRANSITION_SCHEMA) as w:
        w.write(rows[0])
        with pytest.raises(RuntimeError, match="write_table after write"):
            w.write_table(pa.Table.from_pylist(rows[1:], schema=TRANSITION_SCHEMA))


def test_read_rows_by_index_across_row_groups(tmp_path: Path) -> None:
    with RecordWriter(tmp_path / "t.parquet", TRANSITION_SCHEMA, batch_rows=2) as w:  # 4 row groups
        for i in range(7):
            w.write(_row(i))
    got = list(read_rows(tmp_path / "t.parquet", [0, 3, 4, 6]))
    assert [(i, r["id"]) for i, r in got] == [(i, _row(i)["id"]) for i in (0, 3, 4, 6)]
    assert got[1][1] == _row(3)  # the full row, every column
    assert list(read_rows(tmp_path / "t.parquet", [])) == []
    with pytest.raises(IndexError):
        list(read_rows(tmp_path / "t.parquet", [6, 7]))
    with pytest.raises(ValueError, match="ascending"):
        list(read_rows(tmp_path / "t.parquet", [3, 1]))


def test_record_writer_missing_key_is_null(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.string()), ("b", pa.list_(pa.string()))])
    with RecordWriter(tmp_path / "t.parquet", schema) as w:
        w.write({"a": "x", "b": ["1", "2"]})
        w.write({"a": "y"})
    assert pq.read_table(tmp_path / "t.parquet").to_pylist() == [{"a": "x", "b": ["1", "2"]}, {"a": "y", "b": None}]


def test_paused_gc_disables_collects_periodically_and_restores(tmp_path: Path) -> None:
    class Node:
        pass

    def cycle() -> weakref.ref:
        n = Node()
        n.self = n  # type: ignore[attr-defined]  # garbage only the cyclic GC frees
        return weakref.ref(n)

    assert gc.isenabled()
    schema = pa.schema([("a", pa.string())])

    @paused_gc(collect_every=3)
    def stage() -> None:
        assert not gc.isenabled()
        ref = cycle()
        with RecordWriter(tmp_path / "t.parquet", schema) as w:
            w.write({"a": "1"})
            w.write({"a": "2"})
            assert ref() is not None  # no automatic collection while paused
            w.write({"a": "3"})  # the third row triggers the safety-net collection
            assert ref() is None

    stage()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a GC that was off stays off
    finally:
        gc.enable()


def test_iter_records_shared_columns_decode_each_value_once(tmp_path: Path) -> None:
    rows = [
        {"k": k, "file": f, "n": i}
        for i, (k, f) in enumerate([("a", "x" * 50), ("b", None), ("c", "x" * 50), ("d", "y")])
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    got = list(iter_records(tmp_path / "t.parquet", batch_rows=3, shared=["file"]))
    assert got == rows
    assert got[0]["file"] is got[2]["file"]  # one string per distinct value in a batch
    assert list(iter_records(tmp_path / "t.parquet", columns=["k"], shared=["file"])) == [{"k": r["k"]} for r in rows]
    with pytest.raises(ValueError, match="absent"):
        next(iter_records(tmp_path / "t.parquet", shared=["absent"]))


def test_read_split_reads_shards_in_name_order_and_refuses_empty_splits(tmp_path: Path) -> None:
    for k, ids in enumerate([["a", "b"], ["c"]]):
        (tmp_path / "test").mkdir(exist_ok=True)
        pq.write_table(pa.table({"id": ids, "n": list(range(len(ids)))}), tmp_path / "test" / f"part-{k:05d}.parquet")
    assert [r["id"] for r in read_split(tmp_path, "test")] == ["a", "b", "c"]
    assert read_split(tmp_path, "test", columns=["id"], limit=2) == [{"id": "a"}, {"id": "b"}]
    with pytest.raises(ShardError):
        read_split(tmp_path, "val")  # no directory
    (tmp_path / "train").mkdir()
    with pytest.raises(ShardError):
        read_split(tmp_path, "train")  # a directory without shards


def test_writers_stream_and_quarantine_counts(tmp_path: Path) -> None:
    funnel = Funnel("s")
    with RecordWriter(tmp_path / "t.parquet", TRANSITION_SCHEMA, batch_rows=2) as w:
        for i in range(5):
            w.write(_row(i))
            funnel.keep()
    with QuarantineWriter(tmp_path / "q.parquet", "s", funnel) as q:
        q.add("x", "non_utf8", "bad bytes", "hf", b"\xff\xfe")
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 5
    qt = pq.read_table(tmp_path / "q.parquet")
    assert qt.schema.equals(QUARANTINE_SCHEMA) and qt.column("payload")[0].as_py() == b"\xff\xfe"
    assert [r["id"] for r in iter_records(tmp_path / "t.parquet", batch_rows=2)] == [_row(i)["id"] for i in range(5)]
    assert funnel.as_dict()["in"] == 6
