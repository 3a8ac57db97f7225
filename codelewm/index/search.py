"""Exact nearest-neighbour search over after-state latents with torch.

Energy is squared L2 (:func:`codelewm.model.objective.energy`, its float32 matmul form
``||q||^2 - 2 q.c + ||c||^2`` with cached corpus norms), one matmul per (query batch, corpus chunk)
and a running top-k merge, so 1M x d_latent corpora are searched without materialising
the full [Q, N] distance matrix. Exact (no approximation): the corpora here are small enough that an
ANN index would only add error and a dependency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from codelewm.model.objective import energy

LATENTS_FILE = "latents.safetensors"
IDS_FILE = "ids.parquet"
META_FILE = "index.json"


class IndexLoadError(RuntimeError):
    """The index dir is missing or inconsistent."""


@dataclass
class Index:
    latents: Tensor  # [N, D] float32
    ids: list[str]
    before_keys: list[str]
    splits: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    sq_norms: Tensor | None = None  # [N], cached ||c||^2

    def __post_init__(self) -> None:
        if self.latents.ndim != 2 or self.latents.shape[0] != len(self.ids):
            raise IndexLoadError(f"latents {tuple(self.latents.shape)} do not match {len(self.ids)} ids")
        if self.sq_norms is None:
            self.sq_norms = self.latents.float().pow(2).sum(-1)

    def __len__(self) -> int:
        return len(self.ids)


def load_index(index_dir: Path, device: str = "cpu") -> Index:
    """Load latents.safetensors + ids.parquet + index.json written by ``run_index``."""
    index_dir = Path(index_dir)
    for name in (LATENTS_FILE, IDS_FILE, META_FILE):
        if not (index_dir / name).is_file():
            raise IndexLoadError(f"{index_dir}: {name} missing (run the index stage first)")
    try:
        lat = load_file(str(index_dir / LATENTS_FILE), device="cpu")["latents"].float().to(device)
    except (SafetensorError, KeyError, OSError) as e:
        raise IndexLoadError(f"{index_dir}: unreadable latents ({e})") from e
    t = pq.read_table(index_dir / IDS_FILE).to_pydict()
    meta = json.loads((index_dir / META_FILE).read_text())
    return Index(latents=lat, ids=t["id"], before_keys=t["before_key"], splits=t["split"], meta=meta)


@torch.inference_mode()
def search(
    corpus: Tensor,
    queries: Tensor,
    k: int,
    corpus_sq: Tensor | None = None,
    query_batch: int = 1024,
    chunk: int = 262_144,
) -> tuple[Tensor, Tensor]:
    """Exact top-k smallest squared-L2 distances: (distances [Q, k'], indices [Q, k']) with k' = min(k, N)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if queries.ndim != 2 or corpus.ndim != 2 or queries.shape[1] != corpus.shape[1]:
        raise ValueError(f"dimension mismatch: queries {tuple(queries.shape)} vs corpus {tuple(corpus.shape)}")
    n = corpus.shape[0]
    k = min(k, n)
    queries = queries.to(corpus.device, corpus.dtype)
    corpus_sq = corpus.pow(2).sum(-1) if corpus_sq is None else corpus_sq.to(corpus.device)
    all_d, all_i = [], []
    for qs in range(0, queries.shape[0], query_batch):
        q = queries[qs : qs + query_batch]
        best_d = torch.full((q.shape[0], 0), float("inf"), device=corpus.device)
        best_i = torch.zeros((q.shape[0], 0), dtype=torch.long, device=corpus.device)
        for cs in range(0, n, chunk):
            d = energy(q, corpus[cs : cs + chunk], cand_sq=corpus_sq[cs : cs + chunk])
            kk = min(k, d.shape[1])
            cd, ci = torch.topk(d, kk, dim=1, largest=False, sorted=False)
            merged_d = torch.cat([best_d, cd], 1)
            merged_i = torch.cat([best_i, ci + cs], 1)
            top_d, pos = torch.topk(merged_d, min(k, merged_d.shape[1]), dim=1, largest=False, sorted=True)
            best_d, best_i = top_d, merged_i.gather(1, pos)
        all_d.append(best_d.cpu())
        all_i.append(best_i.cpu())
    return torch.cat(all_d), torch.cat(all_i)


def query(index: Index, pred_latents: Tensor, k: int) -> list[list[dict[str, Any]]]:
    """Top-k index entries per predicted latent: [{"id", "before_key", "split", "energy", "rank"}]."""
    dist, idx = search(index.latents, pred_latents, k, corpus_sq=index.sq_norms)
    out = []
    for drow, irow in zip(dist.tolist(), idx.tolist()):
        out.append(
            [
                {
                    "rank": r + 1,
                    "id": index.ids[i],
                    "before_key": index.before_keys[i],
                    "split": index.splits[i],
                    "energy": d,
                }
                for r, (d, i) in enumerate(zip(drow, irow))
            ]
        )
    return out
