"""The claims table: each claim's verdict is read strictly off a 95% confidence interval.

Rule (the same for every claim): ``lo > 0`` → HOLDS; ``hi < 0`` → DOES NOT HOLD (reversed);
otherwise INCONCLUSIVE. A claim whose numbers are absent from the evaluation output is NOT MEASURED,
with the reason. Nothing here knows what the outcome "should" be: claims are a fixed list of
questions, and the answers come from ``data/eval/metrics.json`` (paired-bootstrap lifts computed by
the evaluation stage) and, for surprise, a bootstrap over ``details/energies.parquet``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

HOLDS, REVERSED, INCONCLUSIVE, NOT_MEASURED = "HOLDS", "DOES NOT HOLD", "INCONCLUSIVE", "NOT MEASURED"

BASELINE_LABELS = {
    "no_action": "the trained no-action model",
    "shuffled_action": "the shuffled-action control (same before-state, another row's action)",
    "lexical": "the lexical baseline (instruction ↔ diff tokens)",
    "copy": "the copy baseline (candidate most like the before-state)",
    "random": "random ranking",
}
RETRIEVAL_CLAIMS = (
    ("sibling", "no_action"),
    ("sibling", "shuffled_action"),
    ("sibling", "lexical"),
    ("sibling", "copy"),
    ("sibling", "random"),
    ("global", "no_action"),
    ("global", "copy"),
)
DOWNSTREAM_CLAIMS = ("no_action", "shuffled_action", "lexical", "random")
METRIC_LABELS = {"r1": "R@1", "r5": "R@5", "mrr": "MRR"}


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    verdict: str
    metric: str = ""
    lift: float | None = None
    lo: float | None = None
    hi: float | None = None
    p_le_0: float | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict(lo: float, hi: float) -> str:
    """HOLDS if the whole CI is above zero, DOES NOT HOLD if wholly below, else INCONCLUSIVE."""
    if lo > 0:
        return HOLDS
    if hi < 0:
        return REVERSED
    return INCONCLUSIVE


def _dig(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _finite(*xs: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in xs)


def _from_lift(cid: str, text: str, entry: Any, where: str, metric: str = "") -> Claim:
    if not isinstance(entry, dict):
        return Claim(cid, text, NOT_MEASURED, metric, reason=f"{where} missing from the evaluation metrics")
    lift, lo, hi = entry.get("lift"), entry.get("lo"), entry.get("hi")
    metric = str(entry.get("metric", metric))
    if not _finite(lift, lo, hi):
        return Claim(cid, text, NOT_MEASURED, metric, reason=f"{where} has no finite lift/lo/hi")
    p = entry.get("p_le_0")
    return Claim(
        cid, text, verdict(lo, hi), metric, float(lift), float(lo), float(hi), float(p) if _finite(p) else None
    )


def auc_bootstrap(
    true: np.ndarray, decoy: np.ndarray, n: int, seed: int, alpha: float = 0.05
) -> tuple[float, float, float]:
    """AUC of P(energy_true < energy_decoy) (ties count half) with a percentile bootstrap CI.

    The two samples are unpaired (the details file carries no query id), so each is resampled on
    its own. Returns (auc, lo, hi).
    """

    def auc(t: np.ndarray, d: np.ndarray) -> float:
        # Rank-sum (Mann-Whitney) form: O((n+m) log(n+m)), exact with ties.
        allv = np.concatenate([t, d])
        order = allv.argsort(kind="mergesort")
        ranks = np.empty(len(allv))
        sorted_v = allv[order]
        _, first, counts = np.unique(sorted_v, return_index=True, return_counts=True)
        avg = first + (counts + 1) / 2.0  # average 1-based rank of each tie group
        ranks[order] = np.repeat(avg, counts)
        # Lower energy is better, so count decoys ranked above each true value.
        r_decoy = ranks[len(t) :].sum()
        return float((r_decoy - len(d) * (len(d) + 1) / 2.0) / (len(t) * len(d)))

    rng = np.random.default_rng(seed)
    point = auc(true, decoy)
    stats = [auc(rng.choice(true, len(true)), rng.choice(decoy, len(decoy))) for _ in range(n)]
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def surprise_claim(eval_metrics: dict[str, Any], energies: Path | None, n_boot: int, seed: int) -> Claim:
    text = "True after-states get lower energy than semantic-mutant decoys (model surprise AUC > 0.5)"
    cid = "surprise_model_auc_above_chance"
    if energies is None or not energies.exists():
        return Claim(cid, text, NOT_MEASURED, "auc-0.5", reason="details/energies.parquet missing: no CI possible")
    t = pq.read_table(energies, columns=["kind", "method", "energy"]).to_pydict()
    true = np.array([e for k, m, e in zip(t["kind"], t["method"], t["energy"]) if m == "model" and k == "true"], float)
    decoy = np.array(
        [e for k, m, e in zip(t["kind"], t["method"], t["energy"]) if m == "model" and k == "decoy"], float
    )
    if len(true) == 0 or len(decoy) == 0:
        return Claim(cid, text, NOT_MEASURED, "auc-0.5", reason="no model true/decoy energies in details")
    auc, lo, hi = auc_bootstrap(true, decoy, n_boot, seed)
    reported = _dig(eval_metrics, "surprise", "model", "auc")
    reason = f"AUC {auc:.3f} (n_true={len(true)}, n_decoy={len(decoy)}); lift = AUC - 0.5"
    if _finite(reported) and abs(float(reported) - auc) > 1e-3:
        reason += f"; evaluation reported {float(reported):.3f} (different tie/pairing rule)"
    return Claim(cid, text, verdict(lo - 0.5, hi - 0.5), "auc-0.5", auc - 0.5, lo - 0.5, hi - 0.5, None, reason)


def build_claims(
    eval_metrics: dict[str, Any] | None,
    energies: Path | None,
    min_downstream_problems: int,
    n_boot: int,
    seed: int,
) -> list[Claim]:
    """The fixed list of claims, each answered from the evaluation output (or NOT MEASURED)."""
    em = eval_metrics or {}
    missing = "data/eval/metrics.json missing" if eval_metrics is None else ""
    claims: list[Claim] = []
    for pool, base in RETRIEVAL_CLAIMS:
        entry = _dig(em, "lifts", pool, f"model_vs_{base}")
        metric = entry.get("metric", "") if isinstance(entry, dict) else ""
        text = f"The action-conditioned model beats {BASELINE_LABELS[base]} on {pool}-pool retrieval"
        text += f" ({METRIC_LABELS.get(metric, metric)})" if metric else ""
        c = _from_lift(f"retrieval_{pool}_vs_{base}", text, entry, f"lifts.{pool}.model_vs_{base}")
        claims.append(c if not missing else Claim(c.id, c.text, NOT_MEASURED, reason=missing))
    n_problems = _dig(em, "downstream", "n_problems")
    for base in DOWNSTREAM_CLAIMS:
        cid = f"downstream_vs_{base}"
        text = f"Reranking with the model gives higher downstream pass@1 than {BASELINE_LABELS[base]}"
        entry = _dig(em, "downstream", "lifts", f"model_vs_{base}")
        c = _from_lift(cid, text, entry, f"downstream.lifts.model_vs_{base}", "pass@1")
        if missing:
            c = Claim(cid, text, NOT_MEASURED, "pass@1", reason=missing)
        elif c.verdict != NOT_MEASURED and not (_finite(n_problems) and n_problems >= min_downstream_problems):
            # Too few problems: the interval is not trusted whatever it says (design brief, sect. 2).
            c = Claim(
                cid,
                text,
                INCONCLUSIVE,
                c.metric,
                c.lift,
                c.lo,
                c.hi,
                c.p_le_0,
                f"only {n_problems} problems (< {min_downstream_problems} required)",
            )
        claims.append(c)
    claims.append(
        surprise_claim(em, energies, n_boot, seed)
        if not missing
        else Claim("surprise_model_auc_above_chance", "Model surprise AUC > 0.5", NOT_MEASURED, reason=missing)
    )
    return claims
