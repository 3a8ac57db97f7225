"""evaluate_downstream with fake scorers on a tiny problems file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codelewm.config import DownstreamConfig
from codelewm.downstream.evaluate import evaluate_downstream, top_pass

BEFORE = "def f():\n    return -1\n"


def _problem(i: int, passed: list[bool]) -> dict:
    cands = [
        {"code": f"def f():\n    return {i * 10 + j}\n", "passed": p, "kind": "x", "status": "s"}
        for j, p in enumerate(passed)
    ]
    cands.append({"code": BEFORE, "passed": False, "kind": "unchanged", "status": "failed"})
    return {
        "task_id": f"T/{i}",
        "entry_point": "f",
        "before": BEFORE,
        "instruction": f"return {i * 10}",
        "instructions": {"literal": f"return {i * 10}", "generic": "Fix the bug in f."},
        "candidates": cands,
    }


@pytest.fixture
def problems_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    probs = []
    for i in range(40):
        passed = [False] * 6
        passed[int(rng.integers(6))] = True
        probs.append(_problem(i, passed))
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in probs))
    return path


def perfect(p: dict) -> list[float]:
    return [0.0 if c["passed"] else 1.0 for c in p["candidates"]]


def worst(p: dict) -> list[float]:
    return [1.0 if c["passed"] else 0.0 for c in p["candidates"]]


def copier(p: dict) -> list[float]:
    return [0.0 if c["code"] == p["before"] else 1.0 for c in p["candidates"]]


def test_section_shape_and_values(problems_path: Path) -> None:
    out, details = evaluate_downstream(
        problems_path, {"model": perfect, "no_action": worst}, DownstreamConfig(), n_bootstrap=200
    )
    assert out["n_problems_total"] == 40 and set(out["slices"]) == {"literal", "generic"}
    methods = {"model", "no_action", "random", "copy", "lexical", "not_unchanged"}
    for section in out["slices"].values():
        assert section["n_problems"] == 40
        assert section["candidates_mean"] == 7.0
        assert section["oracle_pass_at_1"] == 1.0
        assert section["candidate_pass_rate"] == pytest.approx(1 / 7)
        p1 = section["pass_at_1"]
        assert set(p1) == methods
        assert p1["model"] == {"value": 1.0, "lo": 1.0, "hi": 1.0}
        assert p1["no_action"]["value"] == 0.0
        assert p1["random"]["value"] == pytest.approx(1 / 7)  # exact expectation, no sampling
        assert p1["not_unchanged"]["value"] == pytest.approx(1 / 6)  # random over the changed ones
        assert set(section["lifts"]) == {f"model_vs_{m}" for m in methods - {"model"}}
        lift = section["lifts"]["model_vs_no_action"]
        assert lift["lift"] == 1.0 and lift["lo"] == 1.0 and lift["p_le_0"] == 0.0
        uf = section["unchanged_first"]
        assert uf["model"] == 0.0 and uf["not_unchanged"] == 0.0 and uf["random"] == pytest.approx(1 / 7)
        assert uf["no_action"] == pytest.approx(1 / 6)  # "worst" ties the unchanged with 5 other failures
    assert len(details) == 2 * 40 * 6
    assert {d["slice"] for d in details} == {"literal", "generic"}
    assert all(0.0 <= d["top_passed"] <= 1.0 for d in details)


def test_each_slice_sees_its_own_instruction(problems_path: Path) -> None:
    seen: dict[str, set[str]] = {}

    def spy(p: dict) -> list[float]:
        seen.setdefault(p["slice"], set()).add(p["instruction"])
        return copier(p)

    out, _ = evaluate_downstream(problems_path, {"model": spy}, DownstreamConfig(), n_bootstrap=20)
    assert seen["generic"] == {"Fix the bug in f."} and len(seen["literal"]) == 40
    assert out["slices"]["generic"]["unchanged_first"]["model"] == 1.0
    assert out["slices"]["generic"]["pass_at_1"]["model"]["value"] == 0.0


def test_problems_without_slices_fail_loudly_for_generic(tmp_path: Path) -> None:
    p = _problem(0, [True, False])
    del p["instructions"]
    (tmp_path / "p.jsonl").write_text(json.dumps(p) + "\n")
    with pytest.raises(ValueError, match="no 'generic' instruction"):
        evaluate_downstream(tmp_path / "p.jsonl", {}, DownstreamConfig(), n_bootstrap=10)
    out, _ = evaluate_downstream(tmp_path / "p.jsonl", {}, DownstreamConfig(), n_bootstrap=10, slices=("literal",))
    assert out["slices"]["literal"]["n_problems"] == 1


def test_no_lifts_without_a_model(problems_path: Path) -> None:
    out, _ = evaluate_downstream(problems_path, {}, DownstreamConfig(), n_bootstrap=50)
    for section in out["slices"].values():
        assert section["lifts"] == {}
        assert set(section["pass_at_1"]) == {"random", "copy", "lexical", "not_unchanged"}


def test_ties_count_as_expected_value() -> None:
    assert top_pass(np.array([0.0, 0.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0, 0.0])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        top_pass(np.array([0.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError):
        top_pass(np.array([np.nan, 0.0]), np.array([1.0, 0.0]))


def test_bad_scorers_fail_loudly(problems_path: Path) -> None:
    with pytest.raises(ValueError, match="clash"):
        evaluate_downstream(problems_path, {"random": perfect}, DownstreamConfig(), n_bootstrap=10)
    with pytest.raises(ValueError, match="energies"):
        evaluate_downstream(problems_path, {"model": lambda p: [0.0]}, DownstreamConfig(), n_bootstrap=10)


def test_empty_problems_file_fails(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text("")
    with pytest.raises(ValueError, match="no downstream problems"):
        evaluate_downstream(tmp_path / "p.jsonl", {}, DownstreamConfig(), n_bootstrap=10)


def test_out_of_scope_problems_are_excluded_for_every_method(tmp_path):
    from codelewm.config import DownstreamConfig
    from codelewm.downstream.evaluate import evaluate_downstream

    class TooLong(ValueError):
        pass

    class BadCandidate(ValueError):
        def __init__(self, name: str, reason: str):
            super().__init__(f"candidate {name}: {reason}")
            self.reason = reason

    problems = [
        {
            "task_id": f"t{i}",
            "before": "def f():\n    return 0\n",
            "instruction": "return one",
            "candidates": [
                {"code": "def f():\n    return 1\n", "passed": True},
                {"code": "def f():\n    return 2\n", "passed": False},
            ],
        }
        for i in range(4)
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in problems))
    calls = []

    def model(p):
        calls.append(p["task_id"])
        if p["task_id"] == "t0":
            raise TooLong("state_too_long: 300 > 256 tokens")
        if p["task_id"] == "t1":
            raise BadCandidate("t1#0", "symbol_not_found: f")
        return [0.0, 1.0]

    out, details = evaluate_downstream(
        path, {"model": model}, DownstreamConfig(), n_bootstrap=50, out_of_scope=(TooLong, BadCandidate),
        slices=("literal",),
    )  # fmt: skip
    section = out["slices"]["literal"]
    assert section["n_problems"] == 2 and out["n_problems_total"] == 4
    # reason codes, not candidate names, so exclusions aggregate
    assert out["excluded"]["literal"] == {"BadCandidate:symbol_not_found": 1, "TooLong:state_too_long": 1}
    assert {d["task_id"] for d in details} == {"t2", "t3"}  # excluded for every method
    assert section["pass_at_1"]["model"]["value"] == 1.0
    assert sorted(calls) == ["t0", "t1", "t2", "t3"]  # each problem scored once by the model
    with pytest.raises(ZeroDivisionError):  # an error that is not declared out of scope propagates
        evaluate_downstream(
            path,
            {"model": lambda p: 1 / 0 if p["task_id"] == "t1" else [0.0, 1.0]},
            DownstreamConfig(),
            n_bootstrap=50,
            out_of_scope=(TooLong,),
            slices=("literal",),
        )
