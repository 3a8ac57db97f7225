"""Evaluate stage: retrieval (sibling + global pools), controls, surprise, probe, collapse, downstream.

Writes ``metrics.json`` (cross-team interface 5, plus the stage funnel over test rows), ``details/``
parquet files for the report's plots, and ``manifest.json``. Every model-based number comes from the
trained checkpoints (``ModelLoadError`` otherwise); the no-action control is the separately trained
``model.action=none`` model, and the shuffled-action control keeps each row's before-state.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from codelewm.config import DownstreamConfig, EvaluateConfig
from codelewm.device import resolve_device
from codelewm.eval.controls import ShuffledInstructionScorer, shuffle_actions
from codelewm.eval.metrics import QueryMetrics, expected_random
from codelewm.eval.pools import candidate_table, global_group, sibling_groups
from codelewm.eval.probe import probe_suite
from codelewm.eval.retrieval import (
    baseline_methods,
    candidate_field,
    evaluate_retrieval,
    latent_method,
    per_candidate,
)
from codelewm.eval.surprise import decoy_pairs, pair_wins
from codelewm.index.build import model_identity
from codelewm.index.search import load_index
from codelewm.lm.ngram import NgramLM
from codelewm.lm.train import load_lm
from codelewm.model.infer import encode_after, predict_after
from codelewm.rowio import read_split
from codelewm.score import CandidateError, InputError, Scorer
from codelewm.stageio import Stage
from codelewm.stats import bootstrap_ci, paired_bootstrap_lift
from codelewm.train.collapse import collapse_metrics

LATENT_METHODS = ("model", "no_action", "shuffled_action")
BASELINES = (
    "no_action",
    "shuffled_action",
    "naturalness_lm",
    "naturalness_lm_per_token",
    "copy",
    "lexical",
    "not_unchanged",
    "random",
)
LM_SCORES = {"naturalness_lm": "nll", "naturalness_lm_per_token": "cross_entropy"}  # method -> NgramLM method


def unchanged_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its before-state as the after-state and no changed line: the unchanged candidate."""
    return {**row, "after_ids": row["before_ids"], "after_mask": [0] * len(row["before_ids"])}


def lm_problem_scorer(scorer: Scorer, lm: NgramLM, how: str):
    """Downstream naturalness baseline: the LM's ``how`` (``nll`` or ``cross_entropy``) of each candidate's
    state, featurized by the model's own featurizer (same tokens; out-of-scope problems fail alike)."""
    score = getattr(lm, how)

    def fn(problem: dict[str, Any]) -> list[float]:
        cands = [c["code"] if isinstance(c, dict) else c for c in problem["candidates"]]
        symbol = str(problem.get("entry_point") or problem.get("symbol") or "")
        rows = scorer.candidate_rows(problem["before"], problem["instruction"], cands, symbol=symbol)
        return [score(r["after_ids"]) for r in rows]

    return fn


def _index_latents(index_dir: Path, model_dir: Path, ids: list[str]) -> torch.Tensor:
    """Main-model after-latents of ``ids`` from the index (refusing an index built by another model)."""
    idx = load_index(index_dir)
    if idx.meta.get("model_sha256") != model_identity(model_dir):
        raise ValueError(f"index {index_dir} was built with a different model than {model_dir}: rerun the index stage")
    pos = {i: k for k, i in enumerate(idx.ids)}
    missing = [i for i in ids if i not in pos]
    if missing:
        raise ValueError(f"{len(missing)} test rows missing from index {index_dir} (stale index?), e.g. {missing[0]}")
    return idx.latents[torch.tensor([pos[i] for i in ids])]


def _lifts(results: dict[str, QueryMetrics], n: int, seed: int) -> dict[str, dict[str, Any]]:
    """Paired bootstrap lifts of the model over each baseline: MRR under ``model_vs_<b>``, R@1 under ``..._r1``."""
    out: dict[str, dict[str, Any]] = {}
    m = results["model"]
    for b in BASELINES:
        if b not in results or results[b].rr.size == 0:
            continue
        out[f"model_vs_{b}"] = {"metric": "mrr", **paired_bootstrap_lift(m.rr, results[b].rr, n, seed)}
        out[f"model_vs_{b}_r1"] = {"metric": "r1", **paired_bootstrap_lift(m.r1, results[b].r1, n, seed)}
    return out


def _retrieval_section(results: dict[str, dict[str, QueryMetrics]], n_boot: int, seed: int) -> tuple[dict, dict]:
    retrieval: dict[str, dict[str, Any]] = {}
    lifts: dict[str, dict[str, Any]] = {}
    for pool, by_method in results.items():
        retrieval[pool] = {}
        for name, qm in by_method.items():
            s: dict[str, Any] = qm.summary()
            if qm.rr.size:
                _, s["mrr_lo"], s["mrr_hi"] = bootstrap_ci(qm.rr, n_boot, seed)
                _, s["r1_lo"], s["r1_hi"] = bootstrap_ci(qm.r1, n_boot, seed)
            if name == "random":  # the seeded draw plus its analytic expectation over the same pools
                s.update({f"expected_{k}": v for k, v in expected_random(qm.pool_size).items()})
            retrieval[pool][name] = s
        lifts[pool] = _lifts(by_method, n_boot, seed) if by_method["model"].rr.size else {}
    return retrieval, lifts


def _surprise(
    scorers: dict[str, Scorer], rows: list[dict[str, Any]], cfg: EvaluateConfig
) -> tuple[dict, list[dict], dict]:
    section: dict[str, Any] = {}
    energy_rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    sample = rows[: cfg.surprise_max] if cfg.surprise_max else rows
    for name, sc in scorers.items():
        # each model featurizes with its own tokenizer; decoys are identical (same seed, same rows)
        pairs, dropped, _ops = decoy_pairs(sc.featurizer, sample, cfg.seed)
        info[name] = {"rows": len(sample), "pairs": len(pairs), "dropped": dict(dropped)}
        if not pairs:
            section[name] = {"auc": float("nan"), "n": 0}
            continue
        e_true = np.array(sc.score_rows([t for t, _ in pairs]))
        e_decoy = np.array(sc.score_rows([d for _, d in pairs]))
        wins = pair_wins(e_true, e_decoy)
        auc, lo, hi = bootstrap_ci(wins, cfg.bootstrap, cfg.seed)
        section[name] = {"auc": auc, "lo": lo, "hi": hi, "n": int(wins.size)}
        energy_rows += [{"kind": "true", "method": name, "energy": float(e)} for e in e_true]
        energy_rows += [{"kind": "decoy", "method": name, "energy": float(e)} for e in e_decoy]
    return section, energy_rows, info


def _downstream(
    scorers: dict[str, Any], problems_path: Path, cfg: DownstreamConfig, n_bootstrap: int
) -> tuple[dict, list[dict]]:
    from codelewm.downstream.evaluate import evaluate_downstream  # the DOWNSTREAM engineer's interface

    section, details = evaluate_downstream(
        problems_path, scorers, cfg, n_bootstrap=n_bootstrap, out_of_scope=(InputError, CandidateError)
    )
    return section, list(details)


def _write_details(details_dir: Path, ranks: list[dict], energies: list[dict], downstream: list[dict]) -> list[Path]:
    details_dir.mkdir(parents=True, exist_ok=True)
    schemas = {
        "ranks.parquet": (
            ranks,
            pa.schema(
                [
                    ("pool", pa.string()),
                    ("method", pa.string()),
                    ("query_id", pa.string()),
                    ("rank", pa.float64()),
                    ("pool_size", pa.int64()),
                ]
            ),
        ),
        "energies.parquet": (
            energies,
            pa.schema([("kind", pa.string()), ("method", pa.string()), ("energy", pa.float64())]),
        ),
        "downstream.parquet": (
            downstream,
            pa.schema(
                [
                    ("slice", pa.string()),
                    ("task_id", pa.string()),
                    ("method", pa.string()),
                    ("top_passed", pa.float64()),
                ]
            ),
        ),
    }
    paths = []
    for name, (rows, schema) in schemas.items():
        rows = [{f: r[f] for f in schema.names} for r in rows]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), details_dir / name)
        paths.append(details_dir / name)
    return paths


def run_evaluate(
    eval_cfg: EvaluateConfig,
    downstream_cfg: DownstreamConfig,
    model_dir: Path,
    control_dir: Path,
    lm_dir: Path,
    shards_dir: Path,
    index_dir: Path,
    downstream_dir: Path,
    out_dir: Path,
) -> dict[str, Any]:
    """Run every evaluation against the trained main and no-action models and the naturalness LM; write
    metrics, details, manifest."""
    inputs = [Path(p) for p in (model_dir, control_dir, lm_dir, shards_dir, index_dir, downstream_dir)]
    params = {"evaluate": eval_cfg, "downstream": downstream_cfg}
    with Stage("evaluate", Path(out_dir), params=params, parents=inputs) as st:
        _evaluate(st, eval_cfg, downstream_cfg, inputs)
    return st.result


def _evaluate(st: Stage, eval_cfg: EvaluateConfig, downstream_cfg: DownstreamConfig, inputs: list[Path]) -> None:
    model_dir, control_dir, lm_dir, shards_dir, index_dir, downstream_dir = inputs
    torch.manual_seed(eval_cfg.seed)
    random.seed(eval_cfg.seed)
    device = resolve_device(eval_cfg.device)
    main = Scorer.load(model_dir, device=device, batch_size=eval_cfg.batch_size)
    control = Scorer.load(control_dir, device=device, batch_size=eval_cfg.batch_size)
    if control.action != "none":
        raise ValueError(f"{control_dir} is not a no-action control (action={control.action!r})")
    # main.action == "none" is the `dvc exp run -S model.action=none` ablation: it is evaluated the
    # same way; its shuffled-action control then equals the model (the action is never read).
    lm = load_lm(Path(lm_dir), main.lm.tokenizer_path)

    test = read_split(Path(shards_dir), "test")
    if len(test) < 2:
        raise ValueError(f"test split of {shards_dir} has {len(test)} rows; retrieval needs >= 2")
    ids = [r["id"] for r in test]
    table = candidate_table([r["after_state"] for r in test], [r["before_state"] for r in test])
    bs = eval_cfg.batch_size

    # latents: predictions per query row, candidate latents per unique after-state, each by its own
    # model; the unchanged candidates (sibling pools only) are the before-states read as candidates
    after_reps = [int(r) for r in table.rep_row[: table.n_after]]
    unchanged = [unchanged_row(test[int(r)]) for r in table.rep_row[table.n_after :]]
    main_cand = torch.cat(
        [
            _index_latents(Path(index_dir), Path(model_dir), [ids[r] for r in after_reps]),
            encode_after(main.lm, unchanged, bs),
        ]
    )
    ctrl_cand = encode_after(control.lm, [test[r] for r in after_reps] + unchanged, bs)
    main_pred = predict_after(main.lm, test, bs)
    ctrl_pred = predict_after(control.lm, test, bs)
    shuffled, within_sibling = shuffle_actions(test, eval_cfg.seed)
    assert all(a["before_ids"] == b["before_ids"] for a, b in zip(test, shuffled))
    shuf_pred = predict_after(main.lm, shuffled, bs)

    methods = {
        "model": latent_method(main_pred, main_cand),
        "no_action": latent_method(ctrl_pred, ctrl_cand),
        "shuffled_action": latent_method(shuf_pred, main_cand),
        **{
            name: per_candidate(np.array([getattr(lm, how)(t) for t in candidate_field(test, table, "ids")]))
            for name, how in LM_SCORES.items()
        },
        **baseline_methods(test, table, eval_cfg.seed),
    }
    sib, sib_skipped = sibling_groups([r["before_key"] for r in test], table, eval_cfg.min_sibling_pool)
    glob = global_group(ids, table, eval_cfg.global_pool, eval_cfg.seed)
    results, rank_rows = evaluate_retrieval({"sibling": sib, "global": [glob]}, methods, ids)
    retrieval, lifts = _retrieval_section(results, eval_cfg.bootstrap, eval_cfg.seed)

    in_pool = {int(r) for g in sib for r in g.query_rows} | {int(r) for r in glob.query_rows}
    for i in range(len(test)):
        st.funnel.keep() if i in in_pool else st.funnel.drop("no_sibling_pool_and_outside_global_cap")

    surprise, energy_rows, surprise_info = _surprise({"model": main, "no_action": control}, test, eval_cfg)

    train = read_split(Path(shards_dir), "train", limit=eval_cfg.probe_max_train)
    probe = (
        probe_suite(
            predict_after(main.lm, train, bs),
            main_pred,
            predict_after(control.lm, train, bs),
            ctrl_pred,
            [r["op"] for r in train],
            [r["op"] for r in test],
            eval_cfg.probe_epochs,
            eval_cfg.seed,
        )
        if train
        else {"skipped": "empty train split"}
    )

    n_after = table.n_after  # collapse is measured on after-states, as in training
    collapse = {"main": collapse_metrics(main_cand[:n_after]), "control": collapse_metrics(ctrl_cand[:n_after])}

    problems_path = Path(downstream_dir) / "problems.jsonl"
    scorers = {
        "model": main.score_problem,
        "no_action": control.score_problem,
        "shuffled_action": ShuffledInstructionScorer(main.score_problem, problems_path, eval_cfg.seed),
        **{name: lm_problem_scorer(main, lm, how) for name, how in LM_SCORES.items()},
    }
    downstream, downstream_rows = _downstream(scorers, problems_path, downstream_cfg, eval_cfg.bootstrap)

    _write_details(st.output("details"), rank_rows, energy_rows, downstream_rows)
    st.metrics.update(
        retrieval=retrieval,
        lifts=lifts,
        surprise=surprise,
        probe=probe,
        collapse=collapse,
        downstream=downstream,
        diagnostics={
            "shuffled_within_sibling_fraction": within_sibling,
            "sibling_rows_without_pool": sib_skipped,
            "n_test_rows": len(test),
            "n_unique_after_states": table.n,
            "surprise": surprise_info,
            "main_action": main.action,
        },
    )
