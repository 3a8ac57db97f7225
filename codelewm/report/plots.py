"""PNG plots for the report (matplotlib, Agg backend: no display needed).

Every function takes its input path(s), writes one PNG and returns its path, or returns None when
the input is absent/empty (the report then says the plot is missing rather than drawing nothing).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the report stage runs in CI and DVC, never with a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

METHOD_ORDER = ("model", "no_action", "shuffled_action", "copy", "lexical", "random")
_PNG_META = {"Software": None}  # keep PNG bytes reproducible across matplotlib builds


def order_methods(methods: list[str] | set[str]) -> list[str]:
    known = [m for m in METHOD_ORDER if m in methods]
    return known + sorted(set(methods) - set(known))


def read_live_curves(live_dir: Path) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """{run: {metric: (steps, values)}} from DVCLive TSVs under ``live_dir/plots/metrics/<run>/``.

    Accepts both DVCLive's ``timestamp step <name>`` columns and plain ``step <name>``.
    """
    root = Path(live_dir) / "plots" / "metrics"
    curves: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    if not root.is_dir():
        return curves
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for tsv in sorted(run_dir.rglob("*.tsv")):
            with open(tsv, newline="") as f:
                rows = list(csv.reader(f, delimiter="\t"))
            if len(rows) < 2 or "step" not in rows[0]:
                continue
            header = rows[0]
            si = header.index("step")
            vi = max(i for i, h in enumerate(header) if h not in ("step", "timestamp"))
            steps, values = [], []
            for r in rows[1:]:
                try:
                    steps.append(float(r[si]))
                    values.append(float(r[vi]))
                except (ValueError, IndexError):
                    continue  # a half-written last line of a live log
            name = tsv.relative_to(run_dir).with_suffix("").as_posix()
            curves.setdefault(run_dir.name, {})[name] = (steps, values)
    return curves


def plot_training_curves(live_dir: Path, out: Path) -> Path | None:
    curves = read_live_curves(live_dir)
    names = sorted({n for per_run in curves.values() for n in per_run})
    if not names:
        return None
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        for run in sorted(curves):
            if name in curves[run]:
                steps, values = curves[run][name]
                ax.plot(steps, values, label=run, lw=1.4)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    return _save(fig, out)


def plot_rank_histograms(ranks: Path, pool: str, out: Path) -> Path | None:
    """One panel per method: distribution of the true candidate's rank (1 = top) in ``pool``."""
    if not ranks.exists():
        return None
    t = pq.read_table(ranks, columns=["pool", "method", "rank", "pool_size"]).to_pydict()
    by_method: dict[str, list[int]] = defaultdict(list)
    max_pool = 1
    for p, m, r, s in zip(t["pool"], t["method"], t["rank"], t["pool_size"]):
        if p == pool:
            by_method[m].append(int(r))
            max_pool = max(max_pool, int(s))
    if not by_method:
        return None
    methods = order_methods(set(by_method))
    ncols = min(3, len(methods))
    nrows = math.ceil(len(methods) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), sharey=True, squeeze=False)
    log = max_pool > 20  # global pools: ranks span 1..1000, so log-spaced bins
    bins = np.unique(np.geomspace(1, max_pool + 1, 30).astype(int)) if log else np.arange(1, max_pool + 2) - 0.5
    for ax, m in zip(axes.flat, methods):
        r = np.asarray(by_method[m])
        ax.hist(r, bins=bins, weights=np.full(len(r), 1.0 / len(r)), color="C0" if m == "model" else "C7")
        ax.set_title(f"{m} (n={len(r)})", fontsize=8)
        ax.set_xlabel("rank of true after-state", fontsize=7)
        if log:
            ax.set_xscale("log")
        else:
            ax.set_xticks(range(1, max_pool + 1))
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of queries", fontsize=8)
    for ax in list(axes.flat)[len(methods) :]:
        ax.axis("off")
    fig.suptitle(f"{pool} pool (max size {max_pool})", fontsize=9)
    return _save(fig, out)


def plot_energies(energies: Path, out: Path) -> Path | None:
    """Energy of the true after-state vs semantic-mutant decoys, per scoring method."""
    if not energies.exists():
        return None
    t = pq.read_table(energies, columns=["kind", "method", "energy"]).to_pydict()
    data: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for k, m, e in zip(t["kind"], t["method"], t["energy"]):
        if e is not None and math.isfinite(e):
            data[m][k].append(float(e))
    if not data:
        return None
    methods = order_methods(set(data))
    ncols = min(3, len(methods))
    nrows = math.ceil(len(methods) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows), squeeze=False)
    for ax in list(axes.flat)[len(methods) :]:
        ax.axis("off")
    for ax, m in zip(axes.flat, methods):
        both = data[m].get("true", []) + data[m].get("decoy", [])
        bins = np.histogram_bin_edges(both, bins=30)
        for kind, color in (("true", "C2"), ("decoy", "C3")):
            v = data[m].get(kind, [])
            if v:
                ax.hist(v, bins=bins, alpha=0.55, color=color, label=f"{kind} (n={len(v)})", density=True)
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("energy (lower = better match)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    return _save(fig, out)


def plot_downstream(downstream: dict[str, Any] | None, out: Path) -> Path | None:
    """pass@1 of the top-ranked candidate per method with 95% CI bars; oracle as a reference line."""
    p1 = (downstream or {}).get("pass_at_1") or {}
    methods = [m for m in order_methods(set(p1)) if isinstance(p1[m], dict) and "value" in p1[m]]
    if not methods:
        return None
    vals = np.array([float(p1[m]["value"]) for m in methods])
    lo = np.array([float(p1[m].get("lo", p1[m]["value"])) for m in methods])
    hi = np.array([float(p1[m].get("hi", p1[m]["value"])) for m in methods])
    fig, ax = plt.subplots(figsize=(1.1 * len(methods) + 2.5, 3.0))
    x = np.arange(len(methods))
    ax.bar(x, vals, color=["C0" if m == "model" else "C7" for m in methods])
    ax.errorbar(
        x, vals, yerr=[np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)], fmt="none", ecolor="k", capsize=4
    )
    for value, label, style in (
        ((downstream or {}).get("oracle_pass_at_1"), "oracle", "--"),
        ((downstream or {}).get("candidate_pass_rate"), "candidate pass rate", ":"),
    ):
        if isinstance(value, (int, float)):
            ax.axhline(float(value), ls=style, color="k", lw=1, label=f"{label} {float(value):.2f}")
    ax.set_xticks(x, methods, fontsize=8, rotation=20)
    ax.set_ylabel("pass@1 (95% CI)", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, out)


def _save(fig: plt.Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110, metadata=_PNG_META)
    plt.close(fig)
    return out
