"""Downstream rerank evaluation: pass@1 of each method's top candidate, with paired-bootstrap CIs, per
benchmark slice (``literal`` instructions name the changed code, ``generic`` ones only the function).

A method is a scorer: ``problem dict -> energy per candidate`` (lower = better). Model scorers come
from the caller (the evaluate stage builds them from trained checkpoints); the non-model baselines
``random``, ``copy``, ``lexical`` and ``not_unchanged`` are added here. Every problem's candidates
include the unchanged buggy program, and each method's rate of ranking it first is reported. Ties are
scored exactly: the top "candidate" is the set of candidates sharing the best energy and its pass value
is the fraction of them that pass (the expectation under random tie-breaking), so ``random`` gives the
exact expected pass@1 and no method gains from a lucky tie order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from codelewm.config import DownstreamConfig
from codelewm.downstream.baselines import BASELINES, Scorer
from codelewm.stats import bootstrap_ci, paired_bootstrap_lift


def load_problems(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        problems = [json.loads(line) for line in f if line.strip()]
    if not problems:
        raise ValueError(f"{path}: no downstream problems")
    return problems


def top_pass(energies: np.ndarray, passed: np.ndarray) -> float:
    """Pass value of the lowest-energy candidate; the mean over exact ties."""
    if energies.shape != passed.shape:
        raise ValueError(f"scorer returned {energies.shape[0]} energies for {passed.shape[0]} candidates")
    if not np.all(np.isfinite(energies)):
        raise ValueError("scorer returned non-finite energies")
    best = energies == energies.min()
    return float(passed[best].mean())


def score_method(problems: list[dict[str, Any]], scorer: Scorer) -> np.ndarray:
    """Per-problem pass value of ``scorer``'s top choice."""
    out = np.empty(len(problems), dtype=np.float64)
    for i, p in enumerate(problems):
        passed = np.array([bool(c["passed"]) for c in p["candidates"]], dtype=np.float64)
        out[i] = top_pass(np.asarray(scorer(p), dtype=np.float64), passed)
    return out


def _reason(e: Exception) -> str:
    """Short reason code of an out-of-scope error ("state_too_long: ..." -> "state_too_long")."""
    msg = getattr(e, "reason", None) or str(e)  # CandidateError carries .reason beside the candidate name
    msg = msg.removeprefix("before file: ")
    return f"{type(e).__name__}:{msg.split(':', 1)[0].strip()[:60]}"


def admissible(
    problems: list[dict[str, Any]], scorers: Mapping[str, Scorer], out_of_scope: tuple[type[Exception], ...]
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, Scorer]]:
    """Problems every scorer can score; the rest counted by reason.

    A problem a model cannot take (e.g. its before-state exceeds the model's token budget) is
    excluded for EVERY method, so all comparisons stay paired over the same problems. Only the
    given exception types mean "out of scope"; anything else is a bug and propagates. Returns the
    kept problems, the exclusion counts and scorers that replay the energies computed here (each
    model scores each problem once).
    """
    kept, excluded = [], Counter[str]()
    cache: dict[str, dict[int, Any]] = {name: {} for name in scorers}
    for p in problems:
        try:
            energies = {name: fn(p) for name, fn in scorers.items()}
        except out_of_scope as e:
            excluded[_reason(e)] += 1
            continue
        kept.append(p)
        for name, e in energies.items():
            cache[name][id(p)] = e
    replay = {name: (lambda p, c=cache[name]: c[id(p)]) for name in scorers}
    return kept, dict(sorted(excluded.items())), replay


SLICES = ("literal", "generic")


def slice_view(problems: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The problems as one benchmark slice sees them: the slice's instruction in ``instruction``.

    Problems from before the slices existed carry only their literal instruction."""
    out = []
    for p in problems:
        instr = (p.get("instructions") or {}).get(name)
        if instr is None and name != "literal":
            raise ValueError(f"problem {p.get('task_id')}: no {name!r} instruction (rebuild the downstream stage)")
        out.append({**p, "instruction": instr or p["instruction"], "slice": name})
    return out


def unchanged_first(problems: list[dict[str, Any]], scorer: Scorer) -> np.ndarray:
    """Per problem: the probability that ``scorer`` ranks the unchanged program first (ties split evenly;
    0 where no candidate is the unchanged program)."""
    out = np.zeros(len(problems), dtype=np.float64)
    for i, p in enumerate(problems):
        same = np.array([c["code"] == p["before"] for c in p["candidates"]], dtype=np.float64)
        e = np.asarray(scorer(p), dtype=np.float64)
        best = e == e.min()
        out[i] = float(same[best].mean())
    return out


def evaluate_slice(
    problems: list[dict[str, Any]], methods: Mapping[str, Scorer], seed: int, n_bootstrap: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """pass@1 (with CIs), the model's paired lifts and the unchanged-first rate of every method on one slice."""
    values = {name: score_method(problems, fn) for name, fn in methods.items()}
    pass_at_1 = {}
    for k, (name, v) in enumerate(sorted(values.items())):
        mean, lo, hi = bootstrap_ci(v, n_bootstrap, seed + k)
        pass_at_1[name] = {"value": mean, "lo": lo, "hi": hi}
    lifts = {}
    if "model" in values:
        for name in sorted(values):
            if name != "model":
                lifts[f"model_vs_{name}"] = paired_bootstrap_lift(values["model"], values[name], n_bootstrap, seed)
    flags = [np.array([bool(c["passed"]) for c in p["candidates"]]) for p in problems]
    section = {
        "n_problems": len(problems),
        "candidates_mean": float(np.mean([f.size for f in flags])),
        "pass_at_1": pass_at_1,
        "lifts": lifts,
        "unchanged_first": {name: float(unchanged_first(problems, fn).mean()) for name, fn in sorted(methods.items())},
        "oracle_pass_at_1": float(np.mean([f.any() for f in flags])),
        "candidate_pass_rate": float(np.concatenate(flags).mean()),
    }
    details = [
        {"task_id": str(p["task_id"]), "method": name, "top_passed": float(values[name][i])}
        for name in sorted(values)
        for i, p in enumerate(problems)
    ]
    return section, details


def evaluate_downstream(
    problems_path: Path,
    scorers: Mapping[str, Scorer],
    cfg: DownstreamConfig,
    n_bootstrap: int = 1000,
    out_of_scope: tuple[type[Exception], ...] = (),
    slices: tuple[str, ...] = SLICES,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``downstream`` section of data/eval/metrics.json and the per-(slice, task, method) detail rows.

    Each slice (instruction style) is scored separately over the same problems. Lifts are ``model``
    minus every other method, paired over problems (present when a scorer named ``model`` is given).
    Detail rows: ``{"slice", "task_id", "method", "top_passed"}``, ``top_passed`` a float in [0, 1]
    (fractional only for ties, e.g. always for ``random``).
    """
    clash = sorted(set(scorers) & set(BASELINES))
    if clash:
        raise ValueError(f"scorer names clash with built-in baselines: {clash}")
    problems = load_problems(Path(problems_path))
    out: dict[str, Any] = {"n_problems_total": len(problems), "excluded": {}, "slices": {}}
    details: list[dict[str, Any]] = []
    for name in slices:
        view = slice_view(problems, name)
        excluded: dict[str, int] = {}
        slice_scorers: Mapping[str, Scorer] = scorers
        if out_of_scope:
            view, excluded, slice_scorers = admissible(view, scorers, out_of_scope)
        if not view:
            raise ValueError(f"{problems_path}: no problem is in scope of the model scorers ({excluded})")
        section, rows = evaluate_slice(view, {**slice_scorers, **BASELINES}, cfg.seed, n_bootstrap)
        out["slices"][name] = section
        out["excluded"][name] = excluded
        details += [{"slice": name, **r} for r in rows]
    return out, details
