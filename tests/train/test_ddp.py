"""Two CPU processes on gloo via torchrun: training runs, only rank 0 writes, the checkpoint loads."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from codelewm.config import CollapseGateConfig, ModelConfig, Params, TrainConfig, to_dict
from codelewm.model.infer import load_model
from tests.fixtures.token_task import make_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path):
    shards, tok = make_dataset(tmp_path / "data", n_train=16, n_val=4)
    params = Params(
        model=ModelConfig(size="tiny", sigreg_directions=64),
        train=TrainConfig(
            device="cpu",
            steps=6,
            batch_size=8,
            warmup_steps=1,
            eval_every=3,
            checkpoint_every=3,
            control_none=False,
            collapse=CollapseGateConfig(0.0, 0.0, 0.0),
        ),
    )
    ppath = tmp_path / "params.yaml"
    ppath.write_text(yaml.safe_dump(to_dict(params)))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "pipeline.train",
        "--params",
        str(ppath),
        "--shards",
        str(shards),
        "--tokenizer",
        str(tok),
        "--out",
        str(out / "models"),
        "--metrics",
        str(out / "train.json"),
        "--live-dir",
        str(out / "dvclive"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 process(es)" in r.stderr
    lm = load_model(out / "models" / "main")
    assert lm.meta["step"] == 6
    assert (out / "train.json").is_file()
    assert not (out / "models" / "main.tmp").exists()
