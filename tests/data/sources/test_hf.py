"""HF source on local CommitPackFT-shaped parquet and jsonl fixtures (never downloads)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codelewm.config import HFSourceConfig, QualityConfig
from codelewm.data.sources.base import Quarantined
from codelewm.data.sources.hf import HFSource
from tests.data.datafixtures import assert_indexes_match

OLD = "def f(a, b):\n    return a + b\n\n\ndef g(x):\n    return x\n"
NEW = OLD.replace("a + b", "a - b")


def rows() -> list[dict]:
    base = {"old_contents": OLD, "new_contents": NEW, "message": "Subtract instead of adding in f",
            "license": "mit", "repos": "octo/calc,fork/calc", "old_file": "calc/ops.py", "new_file": "calc/ops.py",
            "commit": "abc123"}  # fmt: skip
    return [base, {**base, "commit": "def456", "new_contents": OLD.replace("return x", "return -x"),
                   "message": "Negate the value returned by g"}]  # fmt: skip


def test_parquet_and_jsonl(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(rows()), tmp_path / "d.parquet")
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows()) + "\n")
    for name in ("d.parquet", "d.jsonl"):
        events = list(HFSource(HFSourceConfig(data_files=(str(tmp_path / name),)), QualityConfig()))
        out = [e for e in events if isinstance(e, dict)]
        assert [r["symbol"] for r in out] == ["f", "g"]
        assert all(r["repo"] == "octo/calc" and r["license"] == "mit" and r["path"] == "calc/ops.py" for r in out)
        assert "a - b" in out[0]["after_file"] and out[0]["instruction"] == "Subtract instead of adding in f"
        assert not [e for e in events if isinstance(e, Quarantined)]
        assert_indexes_match(out)


def test_max_rows(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows()) + "\n")
    src = HFSource(HFSourceConfig(data_files=(str(tmp_path / "d.jsonl"),), max_rows=1), QualityConfig())
    assert len([e for e in src if isinstance(e, dict)]) == 1 and src.stats["rows_read"] == 1


def test_offline_hub_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # empty cache
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(Exception):  # noqa: B017 - datasets' offline error type varies by version
        next(iter(HFSource(HFSourceConfig(dataset="bigcode/does-not-exist-xyz"), QualityConfig())))


def test_missing_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(HFSource(HFSourceConfig(data_files=(str(tmp_path / "nope.jsonl"),)), QualityConfig()))
