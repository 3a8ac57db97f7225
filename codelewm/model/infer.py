"""Inference API used by index, evaluate and the scorer (cross-team interface 3).

``load_model`` fails loudly (ModelLoadError) when there is no usable checkpoint: there is no
fallback scorer. ``predict_after`` uses exactly the action view the model was trained with, so a
caller builds the shuffled-action control by swapping rows' action_ids/edit_op_ids only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from codelewm.config import ExtractConfig
from codelewm.device import resolve_device
from codelewm.model.batch import collate
from codelewm.model.checkpoint import ModelLoadError, load_checkpoint
from codelewm.model.jepa import JEPA
from codelewm.model.objective import energy

__all__ = ["LoadedModel", "ModelLoadError", "encode_after", "energy", "load_model", "predict_after"]


@dataclass
class LoadedModel:
    model: JEPA
    action: str
    featurizer_cfg: ExtractConfig
    tokenizer_path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def load_model(model_dir: Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a trained checkpoint dir (model.safetensors + config.json + tokenizer.json) onto ``device``
    (``auto|cpu|cuda``, see :func:`codelewm.device.resolve_device`)."""
    model_dir = Path(model_dir)
    model, cfg = load_checkpoint(model_dir, resolve_device(device))
    tok = model_dir / "tokenizer.json"
    if not tok.is_file():
        raise ModelLoadError(
            f"{model_dir}: tokenizer.json missing; candidates could not be featurized like training data"
        )
    try:
        fcfg = ExtractConfig(**cfg["extract"])
    except (KeyError, TypeError) as e:
        raise ModelLoadError(f"{model_dir}: config.json lacks a valid 'extract' section ({e})") from e
    return LoadedModel(model=model, action=model.spec.action, featurizer_cfg=fcfg, tokenizer_path=tok, meta=cfg)


def _batches(lm: LoadedModel, rows: Sequence[dict[str, Any]], batch_size: int):
    s = lm.model.spec
    # sort by length so each batch pads little; results are scattered back to input order
    order = sorted(range(len(rows)), key=lambda i: max(len(rows[i]["before_ids"]), len(rows[i]["after_ids"])))
    for j in range(0, len(order), batch_size):
        idx = order[j : j + batch_size]
        b = collate([rows[i] for i in idx], s.action, s.pad_id, s.max_state_tokens, s.max_action_tokens)
        yield idx, b.to(lm.device)


def _run(lm: LoadedModel, rows: Sequence[dict[str, Any]], batch_size: int, fn) -> Tensor:
    d = lm.model.spec.dims.d_latent
    out = torch.empty(len(rows), d, dtype=torch.float32)
    lm.model.eval()
    amp = lm.device.type == "cuda"
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        for idx, b in _batches(lm, rows, batch_size):
            out[torch.tensor(idx)] = fn(b).float().cpu()
    return out


def encode_after(lm: LoadedModel, rows: list[dict], batch_size: int = 256) -> Tensor:
    """Target latents [N, d_latent] of rows' after_ids/after_mask."""
    return _run(lm, rows, batch_size, lm.model.encode_after)


def predict_after(lm: LoadedModel, rows: list[dict], batch_size: int = 256) -> Tensor:
    """Predicted after-latents [N, d_latent] from before_ids + the trained action view."""
    return _run(lm, rows, batch_size, lambda b: lm.model.predict(b)[0])
