"""End-to-end report rendering on tiny fixtures: tables, identity, claims, plots, JSON, manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from codelewm.config import ReportConfig
from codelewm.report.render import run_report
from codelewm.stageio import verify_manifest
from tests.report.conftest import write_inputs

CFG = ReportConfig(dvc_experiments=False, bootstrap=200)


def test_full_report(report_inputs: dict[str, Any]) -> None:
    out: Path = report_inputs["out_dir"]
    summary = run_report(CFG, **report_inputs)
    md = (out / "report.md").read_text()
    # funnel + identity: 100 = 86 + 14
    assert "| license-gate | " in md and "license_unknown: 3" in md
    assert "ingested 100 = packed 86 + quarantined 14" in md and "**holds**" in md
    assert "downstream (side)" in md
    # retrieval tables for both pools, all methods
    for pool in ("Sibling", "Global"):
        assert f"### {pool} pool" in md
    assert md.count("| shuffled_action | ") >= 3  # sibling + global retrieval + downstream
    # claims: verdicts straight from the CIs
    verdicts = {c["id"]: c["verdict"] for c in summary["claims"]}
    assert verdicts["retrieval_sibling_vs_no_action"] == "HOLDS"
    assert verdicts["retrieval_sibling_vs_shuffled_action"] == "INCONCLUSIVE"
    assert verdicts["retrieval_sibling_vs_lexical"] == "DOES NOT HOLD"
    assert verdicts["retrieval_global_vs_copy"] == "NOT MEASURED"
    assert verdicts["downstream_vs_no_action"] == "HOLDS"
    assert verdicts["surprise_model_auc_above_chance"] == "HOLDS"
    assert "**NOT MEASURED**" in md and "lifts.global.model_vs_copy missing" in md
    # plots exist and are linked by relative path
    for key in ("training", "ranks_sibling", "ranks_global", "energies", "downstream"):
        rel = summary["plots"][key]
        assert (out / rel).read_bytes()[:4] == b"\x89PNG"
        assert f"]({rel})" in md
    assert summary["missing_inputs"] == []
    assert "Missing inputs" not in md
    assert "op_accuracy.model" in md and "effective_rank_ratio" in md
    assert json.loads((out / "report.json").read_text())["accounting"]["holds"] is True
    assert verify_manifest(out / "manifest.json") == []
    assert (
        len(json.loads((out / "manifest.json").read_text())["parents"]) == 8
    )  # the six funnel stages, downstream and train


def test_missing_eval_marks_claims_not_measured(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path, with_eval=False)
    summary = run_report(CFG, **inputs)
    assert {c["verdict"] for c in summary["claims"]} == {"NOT MEASURED"}
    md = (inputs["out_dir"] / "report.md").read_text()
    assert "Missing inputs" in md and "evaluation metrics" in md
    assert summary["plots"].keys() == {"training"}


def test_rerun_removes_stale_plots(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path)
    run_report(CFG, **inputs)
    (inputs["eval_dir"] / "details" / "energies.parquet").unlink()
    summary = run_report(CFG, **inputs)
    assert not (inputs["out_dir"] / "plots" / "energies.png").exists()
    assert "energies" not in summary["plots"]


def test_pipeline_wrapper(tmp_path: Path) -> None:
    from pipeline.report import main

    inputs = write_inputs(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text("report: {title: Wrapper test, dvc_experiments: false, bootstrap: 50}\n")
    args = ["--params", str(params)]
    for d in inputs["metrics_dirs"]:
        args += ["--metrics-dir", str(d)]
    args += ["--train-metrics", str(inputs["train_metrics"]), "--live-dir", str(inputs["live_dir"])]
    args += ["--eval", str(inputs["eval_dir"]), "--out", str(inputs["out_dir"])]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (inputs["out_dir"] / "report.md").read_text().startswith("# Wrapper test")
