"""Realistic, tiny report inputs: stage funnels, train metrics, DVCLive TSVs, eval metrics + details."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

METHODS = ("model", "no_action", "shuffled_action", "copy", "lexical", "random")

# ingest 100 → license 95 → dedup 90 → label 89 → extract 86 → shards 86: 100 = 86 + (5 + 5 + 1 + 3 + 0)
FUNNELS = {
    "ingest": {"stage": "ingest", "in": 100, "kept": 100, "dropped": {}},
    "license": {"stage": "license-gate", "in": 100, "kept": 95, "dropped": {"license_unknown": 3, "license_denied": 2}},
    "dedup": {"stage": "dedup", "in": 95, "kept": 90, "dropped": {"exact_duplicate": 4, "near_duplicate": 1}},
    "label": {"stage": "label", "in": 90, "kept": 89, "dropped": {"wrong_fix_passes_tests": 1}},
    "extract": {"stage": "extract", "in": 89, "kept": 86, "dropped": {"syntax_error": 3}},
    "shards": {"stage": "pack", "in": 86, "kept": 86, "dropped": {}, "splits": {"train": 60, "val": 10, "test": 16}},
    "downstream": {"stage": "downstream", "in": 130, "kept": 120, "dropped": {"all_candidates_fail": 10}},
}


def lift(value: float, lo: float, hi: float, metric: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"lift": value, "lo": lo, "hi": hi, "p_le_0": 0.01 if lo > 0 else 0.4}
    if metric:
        d["metric"] = metric
    return d


def eval_metrics(n_problems: int = 120) -> dict[str, Any]:
    ret = {
        pool: {
            m: {
                "r1": 0.6 - 0.08 * i,
                "r5": 0.9 - 0.05 * i,
                "mrr": 0.7 - 0.07 * i,
                "n_queries": 40,
                "pool_size_mean": size,
            }
            for i, m in enumerate(METHODS)
        }
        for pool, size in (("sibling", 4.0), ("global", 160.0))
    }
    return {
        "retrieval": ret,
        "lifts": {
            "sibling": {
                "model_vs_no_action": lift(0.12, 0.05, 0.19, "r1"),  # holds
                "model_vs_shuffled_action": lift(0.02, -0.04, 0.08, "r1"),  # inconclusive
                "model_vs_lexical": lift(-0.1, -0.16, -0.03, "r1"),  # reversed
                "model_vs_copy": lift(0.2, 0.1, 0.3, "r1"),
                "model_vs_random": lift(0.3, 0.2, 0.4, "r1"),
            },
            "global": {"model_vs_no_action": lift(0.01, -0.02, 0.04, "mrr")},  # copy missing on purpose
        },
        "surprise": {"model": {"auc": 0.8, "n": 50}, "no_action": {"auc": 0.6, "n": 50}},
        "probe": {"op_accuracy": {"model": 0.7, "no_action": 0.4}, "n_classes": 12},
        "collapse": {
            "main": {"effective_rank_ratio": 0.42, "dim_std_median": 0.9},
            "control": {"effective_rank_ratio": 0.38, "dim_std_median": 0.8},
        },
        "downstream": {
            "n_problems": n_problems,
            "candidates_mean": 8.2,
            "pass_at_1": {
                m: {"value": 0.5 - 0.05 * i, "lo": 0.4 - 0.05 * i, "hi": 0.6 - 0.05 * i} for i, m in enumerate(METHODS)
            },
            "lifts": {
                "model_vs_no_action": lift(0.08, 0.02, 0.14),
                "model_vs_shuffled_action": lift(0.05, -0.01, 0.11),
                "model_vs_lexical": lift(0.1, 0.03, 0.17),
                "model_vs_random": lift(0.2, 0.12, 0.28),
            },
            "oracle_pass_at_1": 0.93,
            "candidate_pass_rate": 0.31,
        },
    }


def train_metrics() -> dict[str, Any]:
    run = {
        "steps": 600, "final_loss": 0.41, "pred_loss": 0.3, "sigreg": 1.1, "val_pred_loss": 0.35,
        "effective_rank_ratio": 0.45, "dim_std_median": 0.93, "nn_entropy_ratio": 0.88,
    }  # fmt: skip
    return {"main": {"action": "text", **run}, "control": {"action": "none", **run, "val_pred_loss": 0.4}}


def write_inputs(root: Path, with_eval: bool = True, n_problems: int = 120) -> dict[str, Any]:
    data = root / "data"
    dirs = []
    for name, m in FUNNELS.items():
        d = data / name
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({**m, "dropped_total": sum(m["dropped"].values())}))
        (d / "manifest.json").write_text("{}")
        dirs.append(d)
    (root / "metrics").mkdir()
    train = root / "metrics" / "train.json"
    train.write_text(json.dumps(train_metrics()))
    live = root / "dvclive"
    for run in ("main", "control"):
        d = live / "plots" / "metrics" / run
        (d / "train").mkdir(parents=True)
        steps = range(0, 60, 10)
        (d / "loss.tsv").write_text("step\tloss\n" + "".join(f"{s}\t{1.0 / (1 + s)}\n" for s in steps))
        # DVCLive's own layout: timestamp, step, value; nested metric names.
        (d / "train" / "sigreg.tsv").write_text(
            "timestamp\tstep\tsigreg\n" + "".join(f"1700000000\t{s}\t{2.0 - s / 60}\n" for s in steps)
        )
    ev = data / "eval"
    (ev / "details").mkdir(parents=True)
    if with_eval:
        (ev / "manifest.json").write_text("{}")
        (ev / "metrics.json").write_text(json.dumps(eval_metrics(n_problems)))
        rng = np.random.default_rng(0)
        rows = []
        for pool, size in (("sibling", 4), ("global", 160)):
            for m in METHODS:
                for q in range(40):
                    rows.append(
                        {
                            "pool": pool,
                            "method": m,
                            "query_id": f"q{q}",
                            "rank": int(rng.integers(1, size + 1)),
                            "pool_size": size,
                        }
                    )
        pq.write_table(pa.Table.from_pylist(rows), ev / "details" / "ranks.parquet")
        e = [
            {"kind": "true", "method": m, "energy": float(v)}
            for m in ("model", "no_action")
            for v in rng.normal(0.0, 1.0, 50)
        ]
        e += [
            {"kind": "decoy", "method": m, "energy": float(v)}
            for m in ("model", "no_action")
            for v in rng.normal(2.0 if m == "model" else 0.1, 1.0, 50)
        ]
        pq.write_table(pa.Table.from_pylist(e), ev / "details" / "energies.parquet")
        ds = [
            {"task_id": f"HumanEval/{i}", "method": m, "top_passed": bool(rng.random() < 0.5)}
            for i in range(20)
            for m in METHODS
        ]
        pq.write_table(pa.Table.from_pylist(ds), ev / "details" / "downstream.parquet")
    return {"metrics_dirs": dirs, "train_metrics": train, "live_dir": live, "eval_dir": ev, "out_dir": root / "reports"}


@pytest.fixture
def report_inputs(tmp_path: Path) -> dict[str, Any]:
    return write_inputs(tmp_path)
