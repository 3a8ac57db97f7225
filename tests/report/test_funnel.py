"""Funnel tables and the end-to-end identity ingested = packed + quarantined."""

from __future__ import annotations

import json
from pathlib import Path

from codelewm.config import ReportConfig
from codelewm.report.funnel import check_accounting, funnel_rows, load_funnels
from tests.report.conftest import write_inputs

CHAIN = ReportConfig().funnel_chain


def test_identity_holds_on_consistent_funnels(tmp_path: Path) -> None:
    dirs = write_inputs(tmp_path, with_eval=False)["metrics_dirs"]
    funnels, missing = load_funnels(dirs, CHAIN)
    acc = check_accounting(funnels, CHAIN)
    assert missing == [] and acc.checked and acc.holds
    assert (acc.ingested, acc.packed, acc.quarantined) == (100, 86, 14)
    rows = {r["stage"]: r for r in funnel_rows(funnels)}
    assert rows["license-gate"]["reasons"] == "license_unknown: 3, license_denied: 2"
    assert rows["downstream"]["in_chain"] is False


def test_lost_rows_and_bad_stage_are_reported(tmp_path: Path) -> None:
    dirs = write_inputs(tmp_path, with_eval=False)["metrics_dirs"]
    f = dirs[4] / "metrics.json"  # extract: claims 89 in but only accounts for 88
    m = json.loads(f.read_text())
    m["kept"] = 85
    f.write_text(json.dumps(m))
    acc = check_accounting(load_funnels(dirs, CHAIN)[0], CHAIN)
    assert acc.checked and not acc.holds
    assert any(p.startswith("extract: in=89") for p in acc.problems)
    assert any("hand-off extract → pack" in p for p in acc.problems)


def test_missing_chain_stage_is_not_checked(tmp_path: Path) -> None:
    dirs = write_inputs(tmp_path, with_eval=False)["metrics_dirs"]
    (dirs[2] / "metrics.json").unlink()
    funnels, missing = load_funnels(dirs, CHAIN)
    acc = check_accounting(funnels, CHAIN)
    assert not acc.checked and "dedup" in acc.problems[0]
    assert missing and "dedup/metrics.json" in missing[0]
