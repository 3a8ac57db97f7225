"""Index stage: target latents of held-out after-states, for nearest-neighbour retrieval.

Writes ``latents.safetensors`` ({"latents": [N, d_latent] float32}), ``ids.parquet`` (id, before_key,
split; row i describes latent i), ``index.json`` (model identity, so a query with another model is
refused), plus the stage's ``metrics.json`` funnel and ``manifest.json`` (``timings.json``: encode speed).
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from safetensors.torch import save_file

from codelewm.config import IndexConfig
from codelewm.index.search import IDS_FILE, LATENTS_FILE, META_FILE
from codelewm.model.infer import encode_after, load_model
from codelewm.rowio import read_split
from codelewm.stageio import Stage, sha256_file, write_json

IDS_SCHEMA = pa.schema([("id", pa.string()), ("before_key", pa.string()), ("split", pa.string())])
ROW_COLUMNS = ["id", "before_key", "split", "before_ids", "after_ids", "after_mask", "action_ids", "edit_op_ids"]


def model_identity(model_dir: Path) -> str:
    """sha256 of the weights: an index is only valid for the model that built it."""
    return sha256_file(Path(model_dir) / "model.safetensors")


def run_index(cfg: IndexConfig, model_dir: Path, shards_dir: Path, out_dir: Path) -> dict:
    """Encode the after-states of ``cfg.splits`` with the main model and write the index dir."""
    model_dir, shards_dir = Path(model_dir), Path(shards_dir)
    lm = load_model(model_dir, device=cfg.device)  # ModelLoadError: no fallback
    with Stage("index", Path(out_dir), params={"index": cfg}, parents=[model_dir, shards_dir]) as st:
        rows: list[dict] = []
        seen: set[str] = set()
        for split in cfg.splits:
            for r in read_split(shards_dir, split, columns=ROW_COLUMNS):
                if r["id"] in seen:  # would make two latents answer to one id
                    st.funnel.drop("duplicate_id")
                    continue
                if not r["after_ids"]:
                    st.funnel.drop("empty_after_ids")
                    continue
                seen.add(r["id"])
                rows.append(r)
                st.funnel.keep()
        if not rows:
            raise ValueError(f"no rows to index in {shards_dir} splits {cfg.splits}")
        t0 = time.perf_counter()
        lat = encode_after(lm, rows, batch_size=cfg.batch_size).float().contiguous()
        seconds = time.perf_counter() - t0
        save_file({"latents": lat}, str(st.output(LATENTS_FILE)))
        ids = pa.Table.from_pylist([{k: r[k] for k in ("id", "before_key", "split")} for r in rows], schema=IDS_SCHEMA)
        pq.write_table(ids, st.output(IDS_FILE))
        meta = {
            "model_sha256": model_identity(model_dir),
            "action": lm.action,
            "d_latent": int(lat.shape[1]),
            "n": int(lat.shape[0]),
            "splits": list(cfg.splits),
        }
        write_json(st.output(META_FILE), meta)
        st.metrics.update(n_vectors=int(lat.shape[0]), d_latent=int(lat.shape[1]))
        st.timings.update(encode_seconds=round(seconds, 3), vectors_per_s=round(lat.shape[0] / max(seconds, 1e-9), 1))
    return st.result
