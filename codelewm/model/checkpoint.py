"""Checkpoints: safetensors weights + JSON config, never pickle.

Layout of a model dir: ``model.safetensors`` (weights), ``config.json`` (model spec, action, vocab,
pad id, max lengths, step, training-data manifest hash), ``tokenizer.json`` (copy). Resumable runs add
``optimizer.safetensors`` (AdamW moments, flattened) and ``trainer.json`` (step, param groups, RNG
state, metric history). A checkpoint is written to a temp dir and swapped in, so a kill mid-write
leaves the previous checkpoint intact. Nothing here calls torch.load.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from codelewm.model.jepa import JEPA, ModelSpec

FORMAT = "codelewm-jepa"
FORMAT_VERSION = 1


class ModelLoadError(RuntimeError):
    """A checkpoint is missing, incomplete or corrupt; there is no fallback scorer."""


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for pid, st in sd["state"].items():
        for name, val in st.items():
            t = val if isinstance(val, torch.Tensor) else torch.tensor(val)
            tensors[f"{pid}.{name}"] = t.detach().cpu().contiguous()
    return tensors, {"param_groups": sd["param_groups"]}


def _restore_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]
) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, t in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = t
    opt.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(
    model_dir: Path,
    model: JEPA,
    meta: dict[str, Any],
    tokenizer_path: Path,
    optimizer: torch.optim.Optimizer | None = None,
    trainer: dict[str, Any] | None = None,
) -> None:
    """Write a complete model dir atomically (temp dir + rename)."""
    model_dir = Path(model_dir)
    tmp = model_dir.with_name(model_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp / "model.safetensors"))
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": model.spec.to_json(), **meta}
    (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(tokenizer_path, tmp / "tokenizer.json")
    if optimizer is not None:
        tensors, groups = _optimizer_tensors(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        trainer = {**(trainer or {}), **groups}
    if trainer is not None:
        (tmp / "trainer.json").write_text(json.dumps(trainer, indent=2, sort_keys=True) + "\n")
    old = model_dir.with_name(model_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if model_dir.exists():
        os.replace(model_dir, old)
    os.replace(tmp, model_dir)
    shutil.rmtree(old, ignore_errors=True)


def read_config(model_dir: Path) -> dict[str, Any]:
    model_dir = Path(model_dir)
    path = model_dir / "config.json"
    if not path.is_file():
        raise ModelLoadError(f"no trained model at {model_dir}: config.json missing (run the train stage first)")
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path}: unreadable config ({e})") from e
    if cfg.get("format") != FORMAT or cfg.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} checkpoint")
    return cfg


def load_checkpoint(model_dir: Path, device: str = "cpu") -> tuple[JEPA, dict[str, Any]]:
    """Rebuild the model from config.json and load model.safetensors strictly; raise ModelLoadError."""
    model_dir = Path(model_dir)
    cfg = read_config(model_dir)
    wpath = model_dir / "model.safetensors"
    if not wpath.is_file():
        raise ModelLoadError(f"no trained model at {model_dir}: model.safetensors missing")
    try:
        spec = ModelSpec.from_json(cfg["model"])
        model = JEPA(spec)
        weights = load_file(str(wpath), device="cpu")
    except (SafetensorError, KeyError, TypeError, ValueError, OSError) as e:
        raise ModelLoadError(f"{model_dir}: corrupt checkpoint ({type(e).__name__}: {e})") from e
    check_weights(weights, model.state_dict(), model_dir)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        raise ModelLoadError(f"{model_dir}: weights do not match config.json ({e})") from e
    return model.to(device).eval(), cfg


def check_weights(weights: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], where: Path) -> None:
    """Refuse weights a scorer must not run on: a dtype other than the model's own (load_state_dict would
    silently cast int32 or float64 tensors) and NaN/inf values (every energy would be NaN)."""
    for name, t in weights.items():
        want = expected.get(name)
        if want is not None and t.dtype != want.dtype:
            raise ModelLoadError(f"{where}: tensor {name!r} has dtype {t.dtype}, the model expects {want.dtype}")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelLoadError(f"{where}: tensor {name!r} holds NaN or infinite values")


def load_training_state(model_dir: Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore optimizer moments in place; return trainer.json (step, rng, history)."""
    model_dir = Path(model_dir)
    trainer = json.loads((model_dir / "trainer.json").read_text())
    tensors = load_file(str(model_dir / "optimizer.safetensors"), device="cpu")
    _restore_optimizer(optimizer, tensors, trainer.pop("param_groups"))
    return trainer
