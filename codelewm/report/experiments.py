"""Optional ablation table from ``dvc exp show --json``: experiments that differ in ``model.action``.

DVC may be absent, the directory may not be a DVC repo, the repo lock may be held by the running
``dvc repro``, or there may be no experiments: all of these yield an explanatory note instead of a
table, never a failure of the report. The parser reads the DVC 3 JSON shape: a list of states
``{"rev", "name", "data": {"params": {file: {"data": ...}}, "metrics": {...}}, "experiments":
[{"revs": [state, ...]}]}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# (column, metrics file, key path): the key numbers shown per experiment.
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sibling R@1", "data/eval/metrics.json", ("retrieval", "sibling", "model", "r1")),
    ("sibling MRR", "data/eval/metrics.json", ("retrieval", "sibling", "model", "mrr")),
    ("global R@1", "data/eval/metrics.json", ("retrieval", "global", "model", "r1")),
    ("global MRR", "data/eval/metrics.json", ("retrieval", "global", "model", "mrr")),
    ("pass@1", "data/eval/metrics.json", ("downstream", "pass_at_1", "model", "value")),
    ("val pred loss", "metrics/train.json", ("main", "val_pred_loss")),
)


def _dig(d: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _states(items: list[dict[str, Any]], depth: int = 0) -> list[tuple[dict[str, Any], int]]:
    """Flatten baselines (depth 0: workspace, commits) and their experiments (depth >= 1)."""
    out = []
    for st in items:
        out.append((st, depth))
        for rng in st.get("experiments") or []:
            out.extend(_states(rng.get("revs") or [], depth + 1))
    return out


def parse_exp_show(payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per experiment state with its model.action and the key metrics in COLUMNS."""
    rows = []
    for st, depth in _states(payload):
        data = st.get("data") or {}
        action = _dig(data, ("params", "params.yaml", "data", "model", "action"))
        row: dict[str, Any] = {
            "name": st.get("name") or str(st.get("rev", ""))[:7],
            "baseline": depth == 0,
            "action": action if isinstance(action, str) else "?",
        }
        metrics = data.get("metrics") or {}
        for col, file, keys in COLUMNS:
            v = _dig(metrics, (file, "data", *keys))
            row[col] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        rows.append(row)
    return rows


def action_experiments(cwd: Path, timeout_s: float) -> tuple[list[dict[str, Any]], str]:
    """(rows, note). Rows only when experiments exist and cover at least two model.action values."""
    dvc = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    if not Path(dvc).exists():
        return [], "dvc CLI not found: no experiment table"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    try:
        res = subprocess.run(
            [dvc, "exp", "show", "--json"], cwd=cwd, capture_output=True, text=True, timeout=timeout_s, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return [], f"`dvc exp show` unavailable ({type(e).__name__})"
    if res.returncode != 0:
        first = (res.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return [], f"`dvc exp show` failed: {first}"
    try:
        payload = json.loads(res.stdout or "[]")
    except json.JSONDecodeError:
        return [], "`dvc exp show --json` returned non-JSON output"
    rows = parse_exp_show(payload if isinstance(payload, list) else [])
    experiments = [r for r in rows if not r["baseline"]]
    if not experiments:
        return [], "no DVC experiments found (run e.g. `dvc exp run -S model.action=none`)"
    if len({r["action"] for r in rows}) < 2:
        return [], "DVC experiments found, but all share one model.action"
    return rows, f"{len(experiments)} experiment(s) from `dvc exp show`"
