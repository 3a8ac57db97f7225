"""Report stage: gather every stage's metrics, draw plots, answer the claims, render Markdown.

Outputs in ``out_dir``: ``report.md`` (jinja2 template ``templates/report.md.j2``), ``plots/*.png``
(linked by relative path), ``report.json`` (claims + key numbers for machines) and ``manifest.json``.
Inputs that are missing are listed at the top of the report and make their claims NOT MEASURED; the
report never invents a number. Only metrics are printed, so the report carries no secrets (the
secret-scan stage checks that anyway).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jinja2

from codelewm.config import ReportConfig
from codelewm.report import plots
from codelewm.report.claims import HOLDS, METRIC_LABELS, NOT_MEASURED, build_claims
from codelewm.report.experiments import COLUMNS as EXP_COLUMNS
from codelewm.report.experiments import action_experiments
from codelewm.report.funnel import check_accounting, funnel_rows, load_funnels
from codelewm.stageio import Stage, code_version, write_json

TRAIN_KEYS = (
    "action",
    "steps",
    "final_loss",
    "pred_loss",
    "sigreg",
    "val_pred_loss",
    "effective_rank_ratio",
    "dim_std_median",
    "nn_entropy_ratio",
)  # fmt: skip  (wall-clock figures live in untracked timings files: the report must not depend on them)
POOLS = ("sibling", "global")


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) >= 10**-digits or v == 0 else f"{v:.2e}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("codelewm.report", "templates"),
        autoescape=False,  # Markdown, not HTML
        undefined=jinja2.StrictUndefined,  # a missing context key is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["signed"] = lambda v: "—" if v is None else f"{v:+.3f}"
    return env


def _read_json(path: Path, missing: list[str], what: str) -> dict[str, Any] | None:
    if not path.exists():
        missing.append(f"{path.as_posix()} ({what})")
        return None
    return json.loads(path.read_text())


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dict → {"a.b.c": leaf}; used for sections whose shape evaluation owns (probe, collapse)."""
    if not isinstance(d, dict):
        return {prefix or "value": d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _side_by_side(
    a: dict[str, Any] | None, b: dict[str, Any] | None, first: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    fa, fb = _flatten(a or {}), _flatten(b or {})
    keys = [k for k in first if k in fa or k in fb] + sorted((set(fa) | set(fb)) - set(first))
    return [{"key": k, "main": fa.get(k), "control": fb.get(k)} for k in keys]


def _pick(d: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The given keys of a metrics dict, None where absent (templates use StrictUndefined)."""
    d = d if isinstance(d, dict) else {}
    return {k: d.get(k) for k in keys}


RET_KEYS = ("r1", "r5", "mrr", "n_queries", "pool_size_mean")
LIFT_KEYS = ("metric", "lift", "lo", "hi", "p_le_0")


def _retrieval(ev: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for pool in POOLS:
        per = (ev.get("retrieval") or {}).get(pool) or {}
        rows = [{"method": m, **_pick(per[m], RET_KEYS)} for m in plots.order_methods(set(per))]
        lifts = (ev.get("lifts") or {}).get(pool) or {}
        lift_rows = [{"name": n, **_pick(lifts[n], LIFT_KEYS)} for n in sorted(lifts)]
        out[pool] = {"rows": rows, "lifts": lift_rows}
    return out


def _downstream(ev: dict[str, Any]) -> dict[str, Any] | None:
    ds = ev.get("downstream")
    if not isinstance(ds, dict):
        return None
    p1 = ds.get("pass_at_1") or {}
    return {
        **_pick(ds, ("n_problems", "candidates_mean", "oracle_pass_at_1", "candidate_pass_rate")),
        "rows": [{"method": m, **_pick(p1[m], ("value", "lo", "hi"))} for m in plots.order_methods(set(p1))],
        "lifts": [{"name": n, **_pick(v, LIFT_KEYS[1:])} for n, v in sorted((ds.get("lifts") or {}).items())],
    }


def _ablation(train: dict[str, Any] | None, ev: dict[str, Any]) -> list[dict[str, Any]]:
    """action=text (main) vs action=none (control): the same quantities side by side."""
    rows = []

    def add(name: str, main: Any, control: Any) -> None:
        diff = main - control if isinstance(main, (int, float)) and isinstance(control, (int, float)) else None
        rows.append({"quantity": name, "main": main, "control": control, "diff": diff})

    t = train or {}
    for k in ("val_pred_loss", "effective_rank_ratio", "nn_entropy_ratio"):
        add(f"train: {k}", (t.get("main") or {}).get(k), (t.get("control") or {}).get(k))
    for pool in POOLS:
        per = (ev.get("retrieval") or {}).get(pool) or {}
        for k in ("r1", "mrr"):
            add(f"{pool} pool {METRIC_LABELS[k]}", (per.get("model") or {}).get(k), (per.get("no_action") or {}).get(k))
    p1 = ((ev.get("downstream") or {}).get("pass_at_1")) or {}
    add("downstream pass@1", (p1.get("model") or {}).get("value"), (p1.get("no_action") or {}).get("value"))
    return rows


def _make_plots(live_dir: Path, details: Path, ev: dict[str, Any], plots_dir: Path) -> dict[str, str | None]:
    """Plots into ``plots_dir`` (a fresh staged directory: no stale plot of an earlier run survives)."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    made = {
        "training": plots.plot_training_curves(live_dir, plots_dir / "training_curves.png"),
        "ranks_sibling": plots.plot_rank_histograms(
            details / "ranks.parquet", "sibling", plots_dir / "ranks_sibling.png"
        ),
        "ranks_global": plots.plot_rank_histograms(details / "ranks.parquet", "global", plots_dir / "ranks_global.png"),
        "energies": plots.plot_energies(details / "energies.parquet", plots_dir / "energies.png"),
        "downstream": plots.plot_downstream(ev.get("downstream"), plots_dir / "downstream_pass_at_1.png"),
    }
    return {k: (f"plots/{p.name}" if p else None) for k, p in made.items()}


def run_report(
    cfg: ReportConfig,
    metrics_dirs: list[Path],
    train_metrics: Path,
    live_dir: Path,
    eval_dir: Path,
    out_dir: Path,
) -> dict[str, Any]:
    """Render ``out_dir/report.md`` + plots + ``report.json`` + manifest; returns report.json's dict."""
    parents = [Path(d) for d in [*metrics_dirs, eval_dir]]
    with Stage("report", Path(out_dir), params={"report": cfg}, parents=parents, metrics=None, funnel=False) as st:
        summary = _render(st, cfg, metrics_dirs, Path(train_metrics), Path(live_dir), Path(eval_dir))
    return summary


def _render(
    st: Stage, cfg: ReportConfig, metrics_dirs: list[Path], train_metrics: Path, live_dir: Path, eval_dir: Path
) -> dict[str, Any]:
    missing: list[str] = []
    funnels, miss = load_funnels([Path(d) for d in metrics_dirs], cfg.funnel_chain)
    missing += miss
    accounting = check_accounting(funnels, cfg.funnel_chain)
    train = _read_json(Path(train_metrics), missing, "training metrics")
    eval_path = Path(eval_dir) / "metrics.json"
    ev_raw = _read_json(eval_path, missing, "evaluation metrics")
    ev = ev_raw or {}
    details = Path(eval_dir) / "details"
    for name in ("ranks.parquet", "energies.parquet", "downstream.parquet"):
        if not (details / name).exists():
            missing.append(f"{(details / name).as_posix()} (evaluation details)")
    plots_dir = st.output("plots")
    plot_paths = _make_plots(live_dir, details, ev, plots_dir)
    energies = details / "energies.parquet"
    claims = build_claims(ev_raw, energies, cfg.min_downstream_problems, cfg.bootstrap, cfg.seed)
    if cfg.dvc_experiments:
        exp_rows, exp_note = action_experiments(Path.cwd(), cfg.dvc_timeout_s)
    else:
        exp_rows, exp_note = [], "disabled (report.dvc_experiments = false)"
    surprise, collapse = ev.get("surprise") or {}, ev.get("collapse") or {}
    ctx = {
        "title": cfg.title,
        "code_version": code_version(),
        "missing": missing,
        "claims": [c.as_dict() for c in claims],
        "n_holds": sum(c.verdict == HOLDS for c in claims),
        "n_measured": sum(c.verdict != NOT_MEASURED for c in claims),
        "funnels": funnel_rows(funnels),
        "accounting": vars(accounting),
        "train": _side_by_side(train.get("main"), train.get("control"), TRAIN_KEYS) if train else [],
        "collapse": _side_by_side(collapse.get("main"), collapse.get("control")),
        "retrieval": _retrieval(ev),
        "surprise": [{"method": m, **_pick(surprise[m], ("auc", "n"))} for m in plots.order_methods(set(surprise))],
        "probe": [{"key": k, "value": v} for k, v in _flatten(ev.get("probe")).items()] if ev.get("probe") else [],
        "downstream": _downstream(ev),
        "min_downstream_problems": cfg.min_downstream_problems,
        "ablation": _ablation(train, ev),
        "experiments": exp_rows,
        "exp_columns": [c for c, _, _ in EXP_COLUMNS],
        "exp_note": exp_note,
        "plots": plot_paths,
    }
    st.output("report.md").write_text(_env().get_template("report.md.j2").render(**ctx), encoding="utf-8")
    summary = {
        "title": cfg.title,
        "code_version": ctx["code_version"],
        "claims": ctx["claims"],
        "accounting": ctx["accounting"],
        "retrieval": {p: {r["method"]: _pick(r, RET_KEYS[:3]) for r in ctx["retrieval"][p]["rows"]} for p in POOLS},
        "downstream_pass_at_1": {r["method"]: r["value"] for r in (ctx["downstream"] or {"rows": []})["rows"]},
        "train": {run: {k: ((train or {}).get(run) or {}).get(k) for k in TRAIN_KEYS} for run in ("main", "control")},
        "missing_inputs": missing,
        "plots": {k: v for k, v in plot_paths.items() if v},
        "experiments": exp_rows,
    }
    write_json(st.output("report.json"), summary)
    for m in missing:
        print(f"report: missing input {m}", file=sys.stderr)
    return summary
