"""run_ingest end to end on small synthetic/git/hf inputs: outputs, metrics, manifest, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from codelewm.config import GitSourceConfig, IngestConfig, SyntheticSourceConfig
from codelewm.data.ingest import run_ingest
from codelewm.records import TRANSITION_SCHEMA
from codelewm.stageio import verify_manifest
from tests.data.datafixtures import assert_indexes_match
from tests.data.sources.gitfixture import commit, init

SMALL = SyntheticSourceConfig(max_files=12, max_before_states=15, siblings=3)


def test_synthetic_outputs(tmp_path: Path) -> None:
    m = run_ingest(IngestConfig(synthetic=SMALL), tmp_path / "a")
    assert m["in"] == m["kept"] + m["dropped_total"] and m["kept"] > 0
    assert m["n_before_states"] == 15 and sum(m["ops"].values()) == m["kept"]
    assert sum(int(k) * v for k, v in m["siblings_hist"].items()) == m["kept"]
    t = pq.read_table(tmp_path / "a" / "transitions.parquet")
    assert t.schema.equals(TRANSITION_SCHEMA) and t.num_rows == m["kept"]
    assert set(t.column("split").to_pylist()) == {""}
    assert_indexes_match(t.to_pylist())
    assert verify_manifest(tmp_path / "a" / "manifest.json") == []
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["params"]["ingest"]["synthetic"]["siblings"] == 3 and man["parents"] == {}
    # deterministic: same seed -> same rows
    run_ingest(IngestConfig(synthetic=SMALL), tmp_path / "b")
    assert pq.read_table(tmp_path / "b" / "transitions.parquet").equals(t)


def test_git_source(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    commit(repo, {"m.py": "def f(a):\n    return a\n\n\ndef g():\n    return 1\n"}, "Add the first module")
    commit(repo, {"m.py": "def f(a):\n    return a * 2\n\n\ndef g():\n    return 1\n"}, "Double the result of f")
    m = run_ingest(IngestConfig(source="git", git=GitSourceConfig(repo=str(repo), license="MIT")), tmp_path / "o")
    assert m["kept"] == 1 and m["ops"] == {"commit": 1} and m["source"] == "git"
    row = pq.read_table(tmp_path / "o" / "transitions.parquet").to_pylist()[0]
    assert row["symbol"] == "f" and row["license"] == "MIT" and json.loads(row["meta"])["commit"]
    assert_indexes_match([row])
