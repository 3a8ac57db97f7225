"""Stage scaffold: funnel, quarantine, staged outputs, metrics vs timings, manifests, parents."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codelewm.records import TRANSITION_SCHEMA
from codelewm.rowio import RecordWriter
from codelewm.stageio import (
    AccountingError,
    Funnel,
    QuarantineWriter,
    Stage,
    parent_manifest,
    verify_manifest,
)


def test_stage_writes_funnel_metrics_timings_and_manifest(tmp_path: Path) -> None:
    up = tmp_path / "up"
    with Stage("up", up) as st:
        st.output("rows.txt").write_text("r")
        st.funnel.keep(2)
    out = tmp_path / "out"
    with Stage("s", out, params={"s": {"x": 1}}, parents=[up / "rows.txt"]) as st:
        st.output("a.txt").write_text("hello")
        sub = st.output("sub")
        sub.mkdir()
        (sub / "b.bin").write_bytes(b"\x00\x01")
        with st.quarantine() as q:
            q.add("x", "bad", "detail", "src", b"payload")
        st.funnel.keep(3)
        st.metrics["extra_metric"] = 1.5
        st.timings["work_seconds"] = 0.25
        assert not (out / "a.txt").exists()  # nothing in place before the end
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == st.result
    assert metrics["in"] == 4 and metrics["kept"] == 3 and metrics["dropped"] == {"bad": 1}
    assert metrics["extra_metric"] == 1.5 and "seconds" not in json.dumps(metrics)
    timings = json.loads((out / "timings.json").read_text())
    assert timings["work_seconds"] == 0.25 and timings["seconds"] >= 0 and "rows_per_s" in timings
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["files"]) == {"a.txt", "sub/b.bin", "quarantine.parquet", "metrics.json"}  # never timings
    assert m["files"]["a.txt"]["bytes"] == 5 and len(m["params_hash"]) == 64 and m["params"] == {"s": {"x": 1}}
    assert list(m["parents"]) == [(up / "manifest.json").as_posix()]
    assert verify_manifest(out / "manifest.json") == []
    (out / "a.txt").write_text("changed")
    assert verify_manifest(out / "manifest.json") == ["changed: a.txt"]
    assert not list(tmp_path.glob(".*stage-tmp"))


def test_failed_stage_leaves_previous_outputs_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Stage("s", out) as st:
        st.output("a.txt").write_text("v1")
        st.funnel.keep()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError, match="boom"):
        with Stage("s", out) as st:
            st.output("a.txt").write_text("half-writ")
            raise RuntimeError("boom")
    with pytest.raises(AccountingError):  # a funnel that does not add up fails the stage the same way
        with Stage("s", out) as st:
            st.output("a.txt").write_text("v2")
            st.funnel.n_in += 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".*stage-tmp"))


def test_stage_outputs_elsewhere_adopted_and_without_funnel(tmp_path: Path) -> None:
    models, metrics = tmp_path / "models", tmp_path / "metrics" / "train.json"
    (models / "main").mkdir(parents=True)
    (models / "main" / "w.bin").write_bytes(b"w")
    with Stage("train", models, metrics=metrics, timings=metrics.with_name("train.timings.json"), funnel=False) as st:
        st.adopt(models / "main")
        curves = st.output(tmp_path / "live" / "plots")
        curves.mkdir()
        (curves / "loss.tsv").write_text("step\tloss\n")
        st.metrics["main"] = {"loss": 1.0}
    assert json.loads(metrics.read_text()) == {"main": {"loss": 1.0}}
    assert (tmp_path / "live" / "plots" / "loss.tsv").is_file() and metrics.with_name("train.timings.json").is_file()
    m = json.loads((models / "manifest.json").read_text())
    assert set(m["files"]) == {"main/w.bin", "../live/plots/loss.tsv", "../metrics/train.json"}
    assert verify_manifest(models / "manifest.json") == []


def test_rerun_replaces_a_directory_output_whole(tmp_path: Path) -> None:
    for names in (["p1", "p2"], ["p1"]):
        with Stage("s", tmp_path / "out", metrics=None, funnel=False) as st:
            d = st.output("shards")
            d.mkdir()
            for n in names:
                (d / n).write_text(n)
    assert sorted(p.name for p in (tmp_path / "out" / "shards").iterdir()) == ["p1"]  # no stale shard


def test_parent_manifest_lookup(tmp_path: Path) -> None:
    (tmp_path / "shards" / "test").mkdir(parents=True)
    (tmp_path / "shards" / "manifest.json").write_text("{}")
    (tmp_path / "shards" / "x.parquet").write_text("")
    want = tmp_path / "shards" / "manifest.json"
    assert parent_manifest(tmp_path / "shards") == want  # a stage dir
    assert parent_manifest(tmp_path / "shards" / "test") == want  # a sub-directory of one
    assert parent_manifest(tmp_path / "shards" / "x.parquet") == want  # a file in one
    assert parent_manifest(tmp_path / "elsewhere.json") is None


def test_empty_writers_still_write_files(tmp_path: Path) -> None:
    RecordWriter(tmp_path / "t.parquet", TRANSITION_SCHEMA).close()
    QuarantineWriter(tmp_path / "q.parquet", "s", Funnel("s")).close()
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "q.parquet").num_rows == 0
