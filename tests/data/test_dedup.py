"""Dedup: exact/near/benchmark drops with reasons, siblings kept, group splits, zero leakage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from codelewm.config import DedupConfig
from codelewm.data.dedup import assign_splits, humaneval_docs, run_dedup
from codelewm.data.minhash import candidate_probability, choose_bands, estimated_jaccard, exact_jaccard, signatures
from codelewm.records import TRANSITION_SCHEMA
from codelewm.stageio import verify_manifest
from tests.data.datafixtures import make_rows, write_rows

CFG = DedupConfig()


def _run(tmp_path: Path, rows: list[dict]) -> tuple[dict, list[dict], list[dict]]:
    m = run_dedup(CFG, write_rows(tmp_path / "in" / "transitions.parquet", rows), tmp_path / "out")
    kept = pq.read_table(tmp_path / "out" / "transitions.parquet")
    assert kept.schema.equals(TRANSITION_SCHEMA)
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    return m, kept.to_pylist(), q


def test_siblings_kept_and_all_splits_non_empty(tmp_path: Path) -> None:
    rows = make_rows(12)
    m, kept, q = _run(tmp_path, rows)
    assert m["in"] == len(rows) and m["kept"] == len(rows) and q == []  # siblings are not duplicates
    assert all(m["per_split"][s] > 0 for s in ("train", "val", "test"))
    assert m["cross_split_leakage"] == 0
    by_repo: dict[str, set[str]] = {}
    for r in kept:
        by_repo.setdefault(r["repo"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_repo.values())  # a repo never spans splits
    assert verify_manifest(tmp_path / "out" / "manifest.json") == []


def test_exact_near_and_benchmark_drops(tmp_path: Path) -> None:
    rows = make_rows(4)
    exact = dict(rows[0], id="dup-exact", after_file=rows[0]["after_file"].replace("\n", "  \r\n"))
    # same edit of the same code in another repo (a fork): near-duplicate of repo0's clamp group
    fork = [dict(r, id=f"fork-{i}", repo="fork", before_key="fork-clamp") for i, r in enumerate(rows[:1])]
    fork[0]["instruction"] = "Use an inclusive lower bound"
    he = humaneval_docs()[0]
    bench = dict(
        rows[3],
        id="bench",
        symbol="",
        before_key="bench",
        repo="benchrepo",
        before_file=he + "\n    return None\n",
        after_file=he + "\n    return []\n",
    )
    m, kept, q = _run(tmp_path, rows + [exact, *fork, bench])
    reasons = {r["id"]: r["reason"] for r in q}
    assert reasons == {"dup-exact": "exact_duplicate", "bench": "benchmark_overlap", "fork-0": "near_duplicate"}
    assert m["in"] == m["kept"] + m["dropped_total"] and m["cross_split_leakage"] == 0
    assert json.loads(q[0]["payload"])["id"] in reasons


def test_unparsable_row_is_quarantined(tmp_path: Path) -> None:
    rows = make_rows(1)
    rows[0]["after_file"] = "def (:\n"
    rows[0]["symbol"] = ""
    m, _kept, q = _run(tmp_path, rows)
    assert m["dropped"] == {"unparsable": 1} and q[0]["stage"] == "dedup"


def test_assign_splits_stable_and_repaired() -> None:
    groups = [f"g{i}" for i in range(200)]
    split, moved = assign_splits(groups, CFG)
    assert moved == [] and abs(sum(v == "test" for v in split.values()) / 200 - CFG.test_fraction) < 0.08
    for trio in (["a", "b", "c"], ["x1", "x2", "x3"], ["repo-a", "repo-b", "repo-c"]):
        assert set(assign_splits(trio, CFG)[0].values()) == {"train", "val", "test"}
    assert set(assign_splits(["only"], CFG)[0].values()) <= {"train", "val", "test"}
    assert assign_splits(groups, CFG)[0] == split  # deterministic


def test_minhash_estimates_and_banding() -> None:
    base = " ".join(f"tok{i % 37} x{i}" for i in range(120))
    near = base.replace("x50 ", "y50 ")
    far = " ".join(f"other{i}" for i in range(200))
    sig = signatures([base, near, far, base], 5, 128)
    est = estimated_jaccard(sig, np.array([[0, 1], [0, 2], [0, 3]]))
    assert est[0] > 0.8 and est[1] < 0.1 and est[2] == 1.0
    b, r = choose_bands(0.8, 128)
    assert b * r <= 128 and candidate_probability(0.8, b, r) >= 0.98 and candidate_probability(0.3, b, r) < 0.01
    pairs = np.array([[0, 1], [0, 2], [0, 3]])
    exact = exact_jaccard([base, near, far, base], pairs, 5)
    assert exact[1] == 0.0 and exact[2] == 1.0 and 0.8 < exact[0] < 1.0
    assert abs(est[0] - exact[0]) < 0.1


def test_neardup_bench_smoke() -> None:
    from click.testing import CliRunner

    from bench.data import cli

    res = CliRunner().invoke(cli, ["--only", "neardup", "--docs", "2000", "--baseline-docs", "100"])
    assert res.exit_code == 0, res.output
    assert "recall(planted" in res.output and "docs/s=" in res.output


def test_pipeline_bench_smoke(tmp_path: Path) -> None:
    """The data-path bench runs every stage in a fresh spawned process on a tiny synthetic source."""
    import yaml
    from click.testing import CliRunner

    from bench.data import cli

    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params["ingest"]["synthetic"].update(max_files=6, max_before_states=12)
    params["extract"].update(vocab_size=300, min_frequency=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    res = CliRunner().invoke(cli, ["--only", "pipeline", "--repeat", "1", "--params", str(tmp_path / "params.yaml")])
    assert res.exit_code == 0, res.output
    for name in ("ingest", "license-gate", "dedup", "extract", "pack", "extract+pack", "data path"):
        assert name in res.output
    assert "best of 1 runs" in res.output
    for part in ("ast.parse symbol fragments", "BPE training", "encode distinct lines", "once per data path in ingest"):
        assert part in res.output
    assert "extract cannot exceed" in res.output
    bad = CliRunner().invoke(cli, ["--only", "pipeline", "--repeat", "0"])
    assert bad.exit_code != 0 and "--repeat" in bad.output
