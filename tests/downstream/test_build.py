"""Problem building: buggy before fails, the true fix passes, candidates distinct, funnel adds up."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from codelewm.config import DownstreamConfig
from codelewm.downstream.build import build_problem, build_problems, run_downstream
from codelewm.downstream.problems import Task, harness_program
from codelewm.sandbox.runner import run_python

# Starts sandboxed (uid nobody) processes: `make test` runs these serially, because concurrent
# sandboxes share nobody's process limit and the containment checks look for nobody processes host-wide.
pytestmark = pytest.mark.sandbox

CFG = DownstreamConfig(min_candidates=3, max_candidates=5, timeout_s=3.0, cpu_s=2, workers=1)
PROGRAM = (
    "def clipped_sum(values, limit):\n"
    '    """Sum of values, capped at limit."""\n'
    "    total = 0\n"
    "    for v in values:\n"
    "        total = total + v\n"
    "    if total > limit:\n"
    "        return limit\n"
    "    return total\n"
)
TEST = (
    "def check(candidate):\n"
    "    assert candidate([1, 2], 10) == 3\n"
    "    assert candidate([8, 5], 10) == 10\n"
    "    assert candidate([], 3) == 0\n"
    "    assert candidate([4, 6], 10) == 10\n"
)
TASK = Task("T/0", "clipped_sum", PROGRAM, TEST)


def test_problem_is_labelled_and_unsaturated() -> None:
    res = build_problem(TASK, CFG)
    p = res["problem"]
    assert res["reason"] == "kept" and p is not None
    cands = p["candidates"]
    assert CFG.min_candidates <= len(cands) <= CFG.max_candidates
    assert len({c["code"] for c in cands}) == len(cands)
    fixes = [c for c in cands if c["kind"] == "fix"]
    assert len(fixes) == 1 and fixes[0]["passed"] and fixes[0]["code"] == PROGRAM
    assert not all(c["passed"] for c in cands)
    assert p["before"] != PROGRAM and p["instruction"].strip()
    assert run_python(harness_program(p["before"], TEST, "clipped_sum")).status != "passed"
    assert build_problem(TASK, CFG)["problem"] == p  # deterministic in seed + task id


def test_drop_reasons() -> None:
    always = Task("T/1", "clipped_sum", PROGRAM, "def check(candidate):\n    pass\n")
    never = Task("T/2", "clipped_sum", PROGRAM, "def check(candidate):\n    assert False\n")
    missing = Task("T/3", "absent", PROGRAM, TEST)
    assert build_problem(always, CFG)["reason"] == "no_failing_mutant"
    assert build_problem(never, CFG)["reason"] == "canonical_fails"
    assert build_problem(missing, CFG)["reason"] == "no_entry_point_function"


def test_parallel_build_matches_serial_and_funnel_adds_up() -> None:
    tasks = [TASK, Task("T/2", "clipped_sum", PROGRAM, "def check(candidate):\n    assert False\n")]
    serial, f1 = build_problems(tasks, CFG)
    parallel, f2 = build_problems(tasks, replace(CFG, workers=2))
    assert serial == parallel
    d = f2.as_dict()
    assert d["in"] == 2 and d["kept"] == 1 and d["dropped"] == {"canonical_fails": 1}


def test_run_downstream_writes_outputs_and_fails_loudly_when_short(tmp_path: Path) -> None:
    cfg = replace(CFG, max_tasks=2, problems=1)
    metrics = run_downstream(cfg, tmp_path)
    lines = (tmp_path / "problems.jsonl").read_text().splitlines()
    assert metrics["in"] == 2 and metrics["kept"] == len(lines) >= 1
    assert json.loads((tmp_path / "metrics.json").read_text())["n_problems"] == len(lines)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "problems.jsonl" in manifest["files"]
    with pytest.raises(RuntimeError, match="survived"):
        run_downstream(replace(cfg, problems=50), tmp_path / "short")
    assert (tmp_path / "short" / "metrics.json").exists()  # the funnel is written before failing
