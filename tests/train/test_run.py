"""run_train end to end on a tiny synthetic task: outputs, metrics, curves, resume, collapse gate."""

import json

import pytest
import torch
from safetensors.torch import load_file

from codelewm.config import CollapseGateConfig, ExtractConfig, ModelConfig, TrainConfig
from codelewm.model.infer import load_model, predict_after
from codelewm.stageio import verify_manifest
from codelewm.train.collapse import CollapseError
from codelewm.train.run import run_train
from tests.fixtures.token_task import make_dataset

NO_GATE = CollapseGateConfig(0.0, 0.0, 0.0)
MCFG = ModelConfig(size="tiny", sigreg_directions=64)


def _tcfg(**kw):
    base = dict(
        device="cpu", steps=12, batch_size=8, warmup_steps=2, eval_every=6, checkpoint_every=4, collapse=NO_GATE
    )
    return TrainConfig(**{**base, **kw})


def _run(tmp_path, name, tcfg, mcfg=MCFG, stop_after=None):
    shards, tok = make_dataset(tmp_path / "data", n_train=12, n_val=4)
    out = tmp_path / name
    m = run_train(
        mcfg, tcfg, ExtractConfig(), shards, tok, out / "models", out / "train.json", out / "dvclive", stop_after
    )
    return m, out


def test_run_train_writes_both_models_metrics_and_curves(tmp_path):
    m, out = _run(tmp_path, "a", _tcfg())
    assert set(m) == {"main", "control"}
    assert m["main"]["action"] == "text" and m["control"]["action"] == "none"
    keys = {
        "action",
        "steps",
        "final_loss",
        "pred_loss",
        "sigreg",
        "val_pred_loss",
        "effective_rank_ratio",
        "dim_std_median",
        "nn_entropy_ratio",
    }
    assert keys <= set(m["main"]) and not {"train_seconds", "examples_per_s"} & set(m["main"])
    assert json.loads((out / "train.json").read_text()) == json.loads(json.dumps(m))
    timings = json.loads((out / "train.timings.json").read_text())  # wall clock, outside DVC's metrics
    assert timings["main"]["train_seconds"] > 0 and timings["control"]["examples_per_s"] > 0
    manifest = json.loads((out / "models" / "manifest.json").read_text())
    assert {"main/model.safetensors", "control/config.json", "../train.json"} <= set(manifest["files"])
    assert verify_manifest(out / "models" / "manifest.json") == []
    for name in ("main", "control"):
        d = out / "models" / name
        for f in ("model.safetensors", "config.json", "tokenizer.json"):
            assert (d / f).is_file()
        assert (out / "dvclive" / "plots" / "metrics" / name / "loss.tsv").is_file()
        lm = load_model(d)
        assert lm.meta["step"] == 12 and lm.meta["data_manifest_sha256"]
    main = load_model(out / "models" / "main")
    assert predict_after(
        main,
        [{"before_ids": [9, 10], "after_ids": [9], "after_mask": [1], "action_ids": [5, 9, 10], "edit_op_ids": []}],
    ).shape == (1, 32)


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    tcfg = _tcfg(control_none=False)
    full, out_full = _run(tmp_path, "full", tcfg)
    assert _run(tmp_path, "killed", tcfg, stop_after=10)[0] is None  # last checkpoint: step 8
    assert json.loads((tmp_path / "killed/models/main/config.json").read_text())["step"] == 8
    resumed, out_res = _run(tmp_path, "killed", tcfg)
    a = load_file(str(out_full / "models/main/model.safetensors"))
    b = load_file(str(out_res / "models/main/model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for k in ("final_loss", "pred_loss", "sigreg", "val_pred_loss", "effective_rank_ratio"):
        assert full["main"][k] == resumed["main"][k], k


def test_collapsed_model_trips_the_gate(tmp_path, monkeypatch):
    # a deliberately collapsed model: every after-state maps to the same latent; default thresholds
    import codelewm.train.loop as loop
    from codelewm.model.jepa import JEPA

    class Collapsed(JEPA):
        def encode_after(self, b):
            return super().encode_after(b) * 0.0 + 1.0

    monkeypatch.setattr(loop, "JEPA", Collapsed)
    with pytest.raises(CollapseError, match="latent collapse"):
        _run(tmp_path, "c", _tcfg(collapse=CollapseGateConfig(), control_none=False, gate_every_eval=True))


def test_infonce_and_ema_options_train(tmp_path):
    mcfg = ModelConfig(size="tiny", sigreg_directions=64, infonce_weight=0.5, ema_target=0.9)
    m, out = _run(tmp_path, "opt", _tcfg(control_none=False), mcfg)
    tsv = out / "dvclive" / "plots" / "metrics" / "main" / "infonce.tsv"
    assert tsv.is_file() and m["main"]["final_loss"] is not None
    lm = load_model(out / "models" / "main")
    assert lm.model.target is not None
