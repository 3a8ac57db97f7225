"""Parsing `dvc exp show --json` (DVC 3 shape) into the model.action ablation table."""

from __future__ import annotations

from pathlib import Path

from codelewm.report.experiments import action_experiments, parse_exp_show


def _state(name: str, action: str, r1: float, exps: list | None = None) -> dict:
    return {
        "rev": name + "0" * 30,
        "name": name,
        "data": {
            "params": {"params.yaml": {"data": {"model": {"action": action}}}},
            "metrics": {"data/eval/metrics.json": {"data": {"retrieval": {"sibling": {"model": {"r1": r1}}}}}},
        },
        "error": None,
        "experiments": exps,
    }


def test_parse_nested_experiments() -> None:
    payload = [
        _state("workspace", "text", 0.6),
        _state("main", "text", 0.6, [{"revs": [_state("exp-none", "none", 0.4)], "name": "exp-none"}]),
    ]
    rows = parse_exp_show(payload)
    assert [(r["name"], r["action"], r["baseline"]) for r in rows] == [
        ("workspace", "text", True),
        ("main", "text", True),
        ("exp-none", "none", False),
    ]
    assert rows[2]["sibling R@1"] == 0.4 and rows[2]["pass@1"] is None


def test_outside_a_dvc_repo_gives_a_note_not_an_error(tmp_path: Path) -> None:
    rows, note = action_experiments(tmp_path, timeout_s=60)
    assert rows == [] and note
