"""Pack: sorted deterministic shards per split, explicit schema, HF loadable, accounting identity."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codelewm.config import ExtractConfig, PackConfig
from codelewm.data.extract import run_extract
from codelewm.data.pack import run_pack
from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION
from codelewm.stageio import AccountingError, verify_manifest
from tests.data.datafixtures import make_rows, write_funnel, write_rows


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pack")
    rows = make_rows(3)
    for r, split in zip(rows, ["train"] * 15 + ["test"] * 6):
        r["split"] = split
    run_extract(
        ExtractConfig(vocab_size=400, min_frequency=1), write_rows(d / "dedup" / "t.parquet", rows), d / "extract"
    )
    write_funnel(d / "ingest" / "metrics.json", "ingest", 25, 21, {"too_short": 4})
    write_funnel(d / "dedup" / "metrics.json", "dedup", 21, 21, {})
    return d


def _upstream(d: Path) -> list[Path]:
    return [d / "ingest" / "metrics.json", d / "dedup" / "metrics.json", d / "extract" / "metrics.json"]


def test_pack_shards(extracted: Path, tmp_path: Path) -> None:
    m = run_pack(
        PackConfig(shard_rows=4), extracted / "extract" / "examples.parquet", _upstream(extracted), tmp_path / "a"
    )
    assert m["per_split"] == {"train": 15, "val": 0, "test": 6} and m["shards"] == {"train": 4, "val": 1, "test": 2}
    assert m["accounting"] == {
        "ingested": 25,
        "packed": 21,
        "dropped_by_stage": {"ingest": 4, "dedup": 0, "extract": 0},
    }
    t = pq.read_table(tmp_path / "a" / "train")
    assert t.schema.remove_metadata().equals(EXAMPLE_SCHEMA)
    assert (
        pq.read_schema(tmp_path / "a" / "train" / "part-00000.parquet").metadata[b"codelewm.schema_version"]
        == str(SCHEMA_VERSION).encode()
    )
    keys = list(zip(t["before_key"].to_pylist(), t["id"].to_pylist()))
    assert keys == sorted(keys) and set(t["schema_version"].to_pylist()) == {SCHEMA_VERSION}
    assert pq.read_table(tmp_path / "a" / "val").num_rows == 0  # empty split still has a shard
    assert verify_manifest(tmp_path / "a" / "manifest.json") == []
    run_pack(PackConfig(shard_rows=4), extracted / "extract" / "examples.parquet", _upstream(extracted), tmp_path / "b")
    for f in sorted((tmp_path / "a").rglob("*.parquet")):
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()


def test_pack_loads_with_datasets(extracted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    run_pack(PackConfig(), extracted / "extract" / "examples.parquet", _upstream(extracted), tmp_path / "s")
    import datasets

    ds = datasets.load_dataset(
        "parquet", data_dir=str(tmp_path / "s" / "train"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert len(ds) == 15 and ds[0]["schema_version"] == SCHEMA_VERSION and isinstance(ds[0]["after_mask"], list)


def test_accounting_error(extracted: Path, tmp_path: Path) -> None:
    bad = write_funnel(tmp_path / "ingest.json", "ingest", 30, 21, {"too_short": 4})  # 5 rows vanished
    with pytest.raises(AccountingError):
        run_pack(
            PackConfig(), extracted / "extract" / "examples.parquet", [bad, *_upstream(extracted)[1:]], tmp_path / "x"
        )
    with pytest.raises(AccountingError):
        run_pack(PackConfig(), extracted / "extract" / "examples.parquet", [], tmp_path / "y")
    json.loads((extracted / "extract" / "metrics.json").read_text())
