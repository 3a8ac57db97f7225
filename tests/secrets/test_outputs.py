"""The secret-scan stage scans exactly what the pipeline publishes, as DVC reads dvc.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from codelewm.secrets.outputs import (
    SCAN_STAGE,
    published_outputs,
    render_stage,
    stage_declaration,
    uncovered,
)

ROOT = Path(__file__).resolve().parents[2]


def test_scan_stage_declares_exactly_the_published_outputs() -> None:
    outputs = published_outputs(ROOT)
    paths = [o.path for o in outputs]
    # the outputs the issue found unscanned are among them
    for p in ("data/ingest/quarantine.parquet", "data/extract/tokenizer.json", "data/eval/details", "reports"):
        assert p in paths
    deps, scans = stage_declaration(ROOT)
    hint = "regenerate with `python -m codelewm.secrets.outputs`:\n" + render_stage(outputs)
    assert sorted(scans) == sorted(paths), hint
    code = ("codelewm/", "pipeline/")  # code deps: exact by tests/test_dvc_deps.py
    assert sorted(d for d in deps if not d.startswith(code)) == sorted(paths), hint
    assert uncovered([ROOT / s for s in scans], outputs, ROOT) == []


def test_scan_stage_is_last() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert list(stages)[-1] == SCAN_STAGE


def test_a_new_output_is_not_covered_until_declared(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
    spec = yaml.safe_load((tmp_path / "dvc.yaml").read_text())
    spec["stages"]["extra"] = {"cmd": "true", "outs": ["data/extra/leaky.parquet"], "plots": ["data/extra/p.json"]}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    _, scans = stage_declaration(tmp_path)
    missing = uncovered([tmp_path / s for s in scans], published_outputs(tmp_path), tmp_path)
    assert missing == ["data/extra/leaky.parquet", "data/extra/p.json"]
