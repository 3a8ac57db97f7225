import json

import pyarrow.parquet as pq
import pytest

from codelewm.config import DownstreamConfig, EvaluateConfig, IndexConfig
from codelewm.index.build import run_index
from codelewm.model.infer import ModelLoadError


def test_run_evaluate_end_to_end(tiny_world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    import codelewm.eval.run as run

    seen = {}

    real = run._downstream

    def spy(scorers, path, cfg, n_bootstrap):  # records what each scorer returns, then runs the real one
        p = json.loads(path.read_text().splitlines()[0])
        seen.update({m: fn(p) for m, fn in scorers.items()})
        return real(scorers, path, cfg, n_bootstrap)

    monkeypatch.setattr(run, "_downstream", spy)
    d = tiny_world["dir"]
    run_index(IndexConfig(), tiny_world["main"], tiny_world["shards"], d / "idx")
    m = run.run_evaluate(
        EvaluateConfig(bootstrap=100, probe_epochs=20),
        DownstreamConfig(),
        tiny_world["main"],
        tiny_world["control"],
        tiny_world["lm"],
        tiny_world["shards"],
        d / "idx",
        d / "downstream",
        d / "eval",
    )
    n_test = sum(r["split"] == "test" for r in tiny_world["rows"])
    assert m["in"] == n_test and m["kept"] + m["dropped_total"] == n_test
    for pool in ("sibling", "global"):
        assert set(m["retrieval"][pool]) == {"model", *run.BASELINES}
        for s in m["retrieval"][pool].values():
            assert 0 <= s["r1"] <= s["r5"] <= 1 and s["n_queries"] > 0
        assert {"lift", "lo", "hi", "p_le_0", "metric"} <= set(m["lifts"][pool]["model_vs_copy"])
    # the untrained main model ignores its action (AdaLN-zero gates start at 0): shuffled == model exactly
    assert m["retrieval"]["sibling"]["shuffled_action"]["mrr"] == pytest.approx(
        m["retrieval"]["sibling"]["model"]["mrr"]
    )
    assert set(m["surprise"]) == {"model", "no_action"} and m["surprise"]["model"]["n"] > 0
    assert set(seen) == {"model", "no_action", "shuffled_action", *run.LM_SCORES}
    assert all(len(v) > 1 for v in seen.values())
    assert set(m["collapse"]) == {"main", "control"}
    ranks = pq.read_table(d / "eval" / "details" / "ranks.parquet")
    assert ranks.column_names == ["pool", "method", "query_id", "rank", "pool_size"]
    on_disk = json.loads((d / "eval" / "metrics.json").read_text())
    assert on_disk["retrieval"]["global"]["model"]["r1"] == m["retrieval"]["global"]["model"]["r1"]
    assert (d / "eval" / "manifest.json").exists()
    for ds in m["downstream"]["slices"].values():
        assert ds["n_problems"] == len(tiny_world["transitions"]) and "model_vs_shuffled_action" in ds["lifts"]
        assert {"model", "no_action", "shuffled_action", "random", "not_unchanged", *run.LM_SCORES} <= set(
            ds["pass_at_1"]
        )
        assert 0.0 <= ds["unchanged_first"]["model"] <= 1.0
    # sibling pools hold the unchanged candidate: copy (it IS the before-state) ranks it first, tied only
    # with edits that keep the token set (swapped arguments); not_unchanged never does
    sib = m["retrieval"]["sibling"]
    assert sib["copy"]["unchanged_first"] > 0.5 and sib["not_unchanged"]["unchanged_first"] == 0.0
    assert "unchanged_first" not in m["retrieval"]["global"]["model"]


def test_run_evaluate_without_trained_model_fails(tiny_world: dict, tmp_path) -> None:
    import codelewm.eval.run as run

    with pytest.raises(ModelLoadError):
        run.run_evaluate(
            EvaluateConfig(),
            DownstreamConfig(),
            tmp_path / "none",
            tiny_world["control"],
            tiny_world["lm"],
            tiny_world["shards"],
            tmp_path,
            tmp_path,
            tmp_path / "out",
        )
