import json

import pytest
import torch

from codelewm.config import IndexConfig
from codelewm.index.build import run_index
from codelewm.index.search import load_index
from codelewm.model.infer import ModelLoadError, encode_after, load_model


def test_run_index_writes_latents_ids_manifest(tiny_world: dict) -> None:
    out = tiny_world["dir"] / "index"
    m = run_index(IndexConfig(), tiny_world["main"], tiny_world["shards"], out)
    test_rows = [r for r in tiny_world["rows"] if r["split"] == "test"]
    assert m["in"] == m["kept"] == len(test_rows)
    idx = load_index(out)
    assert idx.ids == [r["id"] for r in test_rows] and set(idx.splits) == {"test"}
    want = encode_after(load_model(tiny_world["main"]), test_rows)
    assert torch.allclose(idx.latents, want, atol=1e-5)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"latents.safetensors", "ids.parquet", "index.json", "metrics.json"} <= set(manifest["files"])


def test_run_index_without_model_fails(tiny_world: dict, tmp_path) -> None:
    with pytest.raises(ModelLoadError):
        run_index(IndexConfig(), tmp_path / "nomodel", tiny_world["shards"], tmp_path / "idx")
