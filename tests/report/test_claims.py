"""Claims: verdicts come strictly from the CI; missing numbers are NOT MEASURED with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codelewm.report.claims import auc_bootstrap, build_claims, verdict
from tests.report.conftest import eval_metrics


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [(0.01, 0.2, "HOLDS"), (-0.2, -0.01, "DOES NOT HOLD"), (-0.1, 0.1, "INCONCLUSIVE"), (0.0, 0.1, "INCONCLUSIVE")],
)
def test_verdict_rule(lo: float, hi: float, expected: str) -> None:
    assert verdict(lo, hi) == expected


def _by_id(claims: list) -> dict:
    return {c.id: c for c in claims}


def test_claims_follow_the_intervals() -> None:
    c = _by_id(build_claims(eval_metrics(), None, 100, 50, 0))
    assert c["retrieval_sibling_vs_no_action"].verdict == "HOLDS"
    assert c["retrieval_sibling_vs_no_action"].text.endswith("(R@1)")
    assert c["retrieval_sibling_vs_shuffled_action"].verdict == "INCONCLUSIVE"
    assert c["retrieval_sibling_vs_lexical"].verdict == "DOES NOT HOLD"
    assert c["retrieval_global_vs_copy"].verdict == "NOT MEASURED"
    assert c["surprise_model_auc_above_chance"].verdict == "NOT MEASURED"  # no energies file given


def test_flipping_an_interval_flips_the_verdict() -> None:
    em = eval_metrics()
    em["lifts"]["sibling"]["model_vs_no_action"] = {
        "metric": "r1",
        "lift": -0.1,
        "lo": -0.2,
        "hi": -0.05,
        "p_le_0": 0.99,
    }
    assert _by_id(build_claims(em, None, 100, 50, 0))["retrieval_sibling_vs_no_action"].verdict == "DOES NOT HOLD"


def test_non_finite_lift_is_not_measured() -> None:
    em = eval_metrics()
    em["downstream"]["lifts"]["model_vs_lexical"]["lo"] = float("nan")
    c = _by_id(build_claims(em, None, 100, 50, 0))["downstream_vs_lexical"]
    assert c.verdict == "NOT MEASURED" and "finite" in c.reason


def test_too_few_downstream_problems_is_inconclusive() -> None:
    c = _by_id(build_claims(eval_metrics(n_problems=47), None, 100, 50, 0))["downstream_vs_no_action"]
    assert c.verdict == "INCONCLUSIVE" and "only 47 problems" in c.reason
    assert c.lo is not None  # the numbers are still shown


def test_no_eval_metrics_means_nothing_measured() -> None:
    assert {c.verdict for c in build_claims(None, None, 100, 50, 0)} == {"NOT MEASURED"}


def test_auc_bootstrap_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    t, d = rng.normal(0, 1, 40).round(1), rng.normal(1, 1, 30).round(1)  # rounding creates ties
    pairwise = np.mean([(ti < di) + 0.5 * (ti == di) for ti in t for di in d])
    auc, lo, hi = auc_bootstrap(t, d, 200, 0)
    assert auc == pytest.approx(pairwise)
    assert lo <= auc <= hi


def test_surprise_claim_from_energies(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = [{"kind": "true", "method": "model", "energy": float(v)} for v in rng.normal(0, 1, 60)]
    rows += [{"kind": "decoy", "method": "model", "energy": float(v)} for v in rng.normal(0, 1, 60)]
    f = tmp_path / "energies.parquet"
    pq.write_table(pa.Table.from_pylist(rows), f)
    c = _by_id(build_claims(eval_metrics(), f, 100, 200, 0))["surprise_model_auc_above_chance"]
    assert c.verdict == "INCONCLUSIVE"  # same distribution: chance level
