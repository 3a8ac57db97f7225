"""Checkpoints: safetensors weights + JSON config, never pickle.

Layout of a model dir: ``model.safetensors`` (weights), ``config.json`` (model spec, action, vocab,
pad id, max lengths, step, training-data manifest hash), ``tokenizer.json`` (copy). Resumable runs add
the :class:`TrainState`, saved and restored as one object: ``optimizer.safetensors`` (AdamW moments,
flattened) and ``trainer.json`` (run hash, step, metric history, counters, RNG state, param groups).
A checkpoint is written to a temp dir and swapped in, so a kill mid-write leaves the previous
checkpoint intact. Nothing here calls torch.load.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
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


def rng_state() -> dict[str, Any]:
    """The global torch RNG state(s) (dropout draws), as JSON-able lists."""
    st: dict[str, Any] = {"cpu": torch.get_rng_state().tolist()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        st["cuda"] = torch.cuda.get_rng_state().tolist()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(torch.tensor(st["cpu"], dtype=torch.uint8))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.tensor(st["cuda"], dtype=torch.uint8))


TRAINER_FILE, OPTIMIZER_FILE = "trainer.json", "optimizer.safetensors"


@dataclass
class TrainState:
    """Everything besides the weights that resuming a run needs; saved and restored as one object.

    ``elapsed`` (training wall seconds so far) is state, not a metric: examples/s after a resume counts
    the time of every segment. ``rng`` is captured when the state is saved and re-applied on load.
    """

    optimizer: torch.optim.Optimizer
    run_hash: str
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    seen: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0

    def save(self, model_dir: Path) -> None:
        """Write ``optimizer.safetensors`` + ``trainer.json`` into ``model_dir`` (capturing the RNG)."""
        tensors, groups = _optimizer_tensors(self.optimizer)
        save_file(tensors, str(Path(model_dir) / OPTIMIZER_FILE))
        trainer = {
            "run_hash": self.run_hash,
            "step": self.step,
            "history": self.history,
            "elapsed": self.elapsed,
            "seen": self.seen,
            "real_tokens": self.real_tokens,
            "padded_tokens": self.padded_tokens,
            "rng": rng_state(),
            **groups,
        }
        (Path(model_dir) / TRAINER_FILE).write_text(json.dumps(trainer, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, model_dir: Path, optimizer: torch.optim.Optimizer, run_hash: str) -> TrainState | None:
        """The state saved in ``model_dir`` by the run ``run_hash`` (optimizer moments restored in place,
        RNG re-applied), or None when there is none or another run wrote it."""
        path = Path(model_dir) / TRAINER_FILE
        if not path.is_file():
            return None
        trainer = json.loads(path.read_text())
        if trainer.get("run_hash") != run_hash:
            return None
        tensors = load_file(str(Path(model_dir) / OPTIMIZER_FILE), device="cpu")
        _restore_optimizer(optimizer, tensors, trainer["param_groups"])
        set_rng_state(trainer["rng"])
        keys = ("step", "history", "elapsed", "seen", "real_tokens", "padded_tokens")
        return cls(optimizer, run_hash, **{k: trainer[k] for k in keys})


def save_checkpoint(
    model_dir: Path,
    model: JEPA,
    meta: dict[str, Any],
    tokenizer_path: Path,
    state: TrainState | None = None,
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
    if state is not None:
        state.save(tmp)
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
