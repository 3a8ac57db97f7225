"""License gate: SPDX normalization, OR/AND semantics, aliases, quarantine reasons, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codelewm.config import LicenseConfig
from codelewm.data.license import evaluate, normalize, run_license_gate
from codelewm.data.sources.base import transition
from codelewm.records import TRANSITION_SCHEMA
from codelewm.rowio import RecordWriter

ALLOW = LicenseConfig().allow


@pytest.mark.parametrize(
    ("expr", "norm", "reason"),
    [
        ("MIT", "MIT", None),
        ("mit", "MIT", None),
        ("Apache 2.0", "Apache-2.0", None),
        ("python-2.0", "Python-2.0", None),
        ("MIT OR GPL-3.0", "MIT OR GPL-3.0-only", None),
        ("GPL-3.0 OR Apache-2.0", "GPL-3.0-only OR Apache-2.0", None),
        ("MIT AND BSD-3-Clause", "MIT AND BSD-3-Clause", None),
        ("MIT AND GPL-2.0+", None, "denied_license:GPL-2.0-or-later"),
        ("GPL-3.0", None, "denied_license:GPL-3.0-only"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception", None),
        ("", None, "unknown_license"),
        ("bsd", None, "unknown_license"),
        ("(MIT", None, "invalid_license_expression"),
    ],
)
def test_evaluate(expr: str, norm: str | None, reason: str | None) -> None:
    assert evaluate(expr, ALLOW) == (norm, reason)


def test_normalize_aliases() -> None:
    assert normalize("GPL-2.0+") == ("GPL-2.0-or-later", None)
    assert normalize("public domain") == (None, "unknown_license")


def test_run_license_gate(tmp_path: Path) -> None:
    inp = tmp_path / "in" / "transitions.parquet"
    lics = ["mit", "GPL-3.0", "", "MIT OR GPL-3.0", "nonsense-license", "(MIT"]
    with RecordWriter(inp, TRANSITION_SCHEMA) as w:
        for i, lic in enumerate(lics):
            w.write(transition(id=f"r{i}", source="hf", repo="o/r", path="a.py", symbol="f", license=lic,
                               instruction="Fix it now", op="commit", family="commit", instruction_kind="commit",
                               before_file="a", before_index="", after_file="b", before_key="k", meta={}))  # fmt: skip
    m = run_license_gate(LicenseConfig(), inp, tmp_path / "out")
    assert m["in"] == 6 and m["kept"] == 2
    assert m["dropped"] == {"denied_license:GPL-3.0-only": 1, "unknown_license": 2, "invalid_license_expression": 1}
    kept = pq.read_table(tmp_path / "out" / "transitions.parquet").to_pylist()
    assert [r["license"] for r in kept] == ["MIT", "MIT OR GPL-3.0-only"]
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert sorted(r["id"] for r in q) == ["r1", "r2", "r4", "r5"] and all(r["stage"] == "license-gate" for r in q)
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {"transitions.parquet", "quarantine.parquet", "metrics.json"} <= set(man["files"])


def test_bad_allowlist_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        run_license_gate(LicenseConfig(allow=("MIT", "Not-A-License")), tmp_path / "x.parquet", tmp_path / "o")
