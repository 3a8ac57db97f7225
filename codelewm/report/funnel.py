"""Data funnel tables and the end-to-end accounting identity ``ingested = packed + quarantined``.

Each stage dir holds a stageio funnel ``metrics.json`` ({"stage", "in", "kept", "dropped", ...}).
The data chain (ingest → license → dedup → extract → shards) is named by directory in
``ReportConfig.funnel_chain``; other stage dirs (e.g. downstream) get a table but are not part of the
identity. Three checks are made and shown, never silently fixed: each stage's own ``in == kept +
Σ dropped``, each hand-off ``in(stage) == kept(previous)``, and the end-to-end identity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StageFunnel:
    dir: str
    stage: str
    n_in: int
    kept: int
    dropped: dict[str, int]
    in_chain: bool
    self_consistent: bool

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass
class Accounting:
    checked: bool
    holds: bool = False
    ingested: int = 0
    packed: int = 0
    quarantined: int = 0
    problems: list[str] = field(default_factory=list)


def load_funnels(metrics_dirs: list[Path], chain: tuple[str, ...]) -> tuple[list[StageFunnel], list[str]]:
    """Read each dir's metrics.json; returns (funnels in the order given, missing-input messages)."""
    funnels, missing = [], []
    for d in metrics_dirs:
        f = Path(d) / "metrics.json"
        if not f.exists():
            missing.append(f"{f.as_posix()} (stage funnel)")
            continue
        m = json.loads(f.read_text())
        if not isinstance(m, dict) or "in" not in m or "kept" not in m:
            missing.append(f"{f.as_posix()} (not a stage funnel: no in/kept)")
            continue
        dropped = {str(k): int(v) for k, v in (m.get("dropped") or {}).items()}
        n_in, kept = int(m.get("in", 0)), int(m.get("kept", 0))
        funnels.append(
            StageFunnel(
                dir=Path(d).as_posix(),
                stage=str(m.get("stage", Path(d).name)),
                n_in=n_in,
                kept=kept,
                dropped=dict(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
                in_chain=Path(d).name in chain,
                self_consistent=n_in == kept + sum(dropped.values()),
            )
        )
    return funnels, missing


def check_accounting(funnels: list[StageFunnel], chain: tuple[str, ...]) -> Accounting:
    """End-to-end identity over the chain stages, in chain order; unchecked if any is absent."""
    by_name = {Path(f.dir).name: f for f in funnels if f.in_chain}
    absent = [c for c in chain if c not in by_name]
    if not chain or absent:
        return Accounting(checked=False, problems=[f"chain stage(s) without metrics: {', '.join(absent) or '-'}"])
    stages = [by_name[c] for c in chain]
    problems = [
        f"{s.stage}: in={s.n_in} != kept+dropped={s.kept + s.dropped_total}" for s in stages if not s.self_consistent
    ]
    for prev, cur in zip(stages, stages[1:]):
        if cur.n_in != prev.kept:
            problems.append(f"hand-off {prev.stage} → {cur.stage}: kept {prev.kept} but next stage read {cur.n_in}")
    acc = Accounting(
        checked=True,
        ingested=stages[0].n_in,
        packed=stages[-1].kept,
        quarantined=sum(s.dropped_total for s in stages),
        problems=problems,
    )
    if acc.ingested != acc.packed + acc.quarantined:
        problems.append(f"ingested {acc.ingested} != packed {acc.packed} + quarantined {acc.quarantined}")
    acc.holds = not problems
    return acc


def funnel_rows(funnels: list[StageFunnel]) -> list[dict[str, Any]]:
    """Template-friendly rows: one per stage, dropped reasons as a compact 'reason: n' list."""
    return [
        {
            "dir": f.dir,
            "stage": f.stage,
            "in": f.n_in,
            "kept": f.kept,
            "dropped_total": f.dropped_total,
            "reasons": ", ".join(f"{k}: {v}" for k, v in f.dropped.items()) or "—",
            "kept_pct": 100.0 * f.kept / f.n_in if f.n_in else 0.0,
            "in_chain": f.in_chain,
            "ok": f.self_consistent,
        }
        for f in funnels
    ]
