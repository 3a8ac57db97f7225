"""The training loop for one model (main or control): AdamW, warmup+cosine, clipping, eval + gate,
resumable safetensors checkpoints, optional DDP.

Determinism: init from the seed, batch plans from (seed, epoch), SIGReg directions from (seed, step),
and the global RNG (dropout) saved in every checkpoint with the rest of the :class:`TrainState`, so
stopping after any step and resuming from the last checkpoint replays the same updates as an
uninterrupted run (exactly, on CPU). Under DDP the loss is the global batch's (see
:mod:`codelewm.model.globalbatch`): the same objective, and the same gradients, as one process.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as tdist
from safetensors.torch import load_file

from codelewm.config import ModelConfig, TrainConfig, to_dict
from codelewm.device import Dist
from codelewm.model.batch import BatchPlan, collate, row_length
from codelewm.model.checkpoint import TrainState, save_checkpoint
from codelewm.model.globalbatch import GlobalBatch
from codelewm.model.jepa import JEPA, ModelSpec
from codelewm.model.objective import energy, loss, sigreg_directions, unchanged_first_rate
from codelewm.train.collapse import check_collapse, collapse_metrics
from codelewm.train.schedule import lr_at

MAX_VAL_ROWS = 1024  # held-out rows used for val loss and the collapse gate at each eval point
LOG_POINTS = 100  # about this many train-loss points per curve


def _training_code_hash() -> str:
    """sha256 of the model and training sources: a checkpoint written by other code is not resumed."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parents[1]
    for sub in ("model", "train"):
        for f in sorted((pkg / sub).glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def run_hash(spec: ModelSpec, mcfg: ModelConfig, tcfg: TrainConfig, data_hash: str, world: int) -> str:
    """Identity of a training run: a checkpoint is resumed only by the run that wrote it."""
    blob = {
        "spec": spec.to_json(),
        "model": to_dict(mcfg),
        "train": to_dict(tcfg),
        "data": data_hash,
        "world": world,
        "code": _training_code_hash(),
    }
    blob["train"].pop("checkpoint_every")  # checkpoint cadence does not change the result
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


@torch.no_grad()
def evaluate(model: JEPA, rows: list[dict], batch_size: int, device: torch.device) -> dict[str, float]:
    """Held-out prediction loss, in-val retrieval R@1 and collapse metrics of the after-latents."""
    model.eval()
    s = model.spec
    rows = rows[:MAX_VAL_ROWS]
    order = sorted(range(len(rows)), key=lambda i: row_length(rows[i]))
    z_hat = torch.empty(len(rows), s.dims.d_latent)
    z_tgt = torch.empty(len(rows), s.dims.d_latent)
    z_same = torch.empty(len(rows), s.dims.d_latent)
    amp = device.type == "cuda"
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        for j in range(0, len(order), batch_size):
            idx = torch.tensor(order[j : j + batch_size])
            b = collate([rows[i] for i in idx], s.action, s.pad_id, s.max_state_tokens, s.max_action_tokens).to(device)
            z_hat[idx] = model.predict(b)[0].float().cpu()
            z_tgt[idx] = model.encode_after(b).float().cpu()
            z_same[idx] = model.encode_unchanged(b).float().cpu()
    model.train()
    e = energy(z_hat, z_tgt)  # [N, N]
    r1 = float((e.argmin(1) == torch.arange(len(rows))).float().mean())
    return {
        "val_pred_loss": float(((z_hat - z_tgt) ** 2).mean()),
        "val_r1": r1,
        "val_unchanged_first": unchanged_first_rate(z_hat, z_tgt, z_same),
        **collapse_metrics(z_tgt),
    }


def train_model(
    spec: ModelSpec,
    mcfg: ModelConfig,
    tcfg: TrainConfig,
    train_rows: list[dict],
    val_rows: list[dict],
    model_dir: Path,
    tokenizer_path: Path,
    meta: dict[str, Any],
    dist: Dist | None = None,
    stop_after: int | None = None,
) -> dict[str, Any] | None:
    """Train (or resume) one model into ``model_dir``; return its summary, or None if stopped early."""
    if not val_rows:
        raise ValueError("no validation rows: the collapse gate needs held-out latents")
    dist = dist or Dist()
    device = dist.device
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(tcfg.seed)
    model = JEPA(spec).to(device)
    opt = model.configure_optimizers(tcfg.lr, tcfg.weight_decay, (0.9, 0.95), device.type)
    rhash = run_hash(spec, mcfg, tcfg, meta.get("data_manifest_sha256", ""), dist.world)
    state = TrainState.load(Path(model_dir), opt, rhash)
    if state is not None:
        model.load_state_dict(load_file(str(Path(model_dir) / "model.safetensors"), device=str(device)), strict=True)
        if dist.is_main:
            print(f"[{spec.action}] resuming {model_dir} at step {state.step}/{tcfg.steps}", file=sys.stderr)
    else:
        state = TrainState(opt, rhash)
    start = state.step
    fwd, gb = model, GlobalBatch()
    if dist.world > 1:
        fwd = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
        gb = GlobalBatch(dist.world, dist.rank, tdist.new_group())  # the loss's own collectives
    if tcfg.compile and device.type == "cuda":
        fwd = torch.compile(fwd, dynamic=True)
    plan = BatchPlan(
        [row_length(r) for r in train_rows],
        [r["before_key"] for r in train_rows],
        tcfg.batch_size,
        tcfg.seed,
        dist.rank,
        dist.world,
    )
    log_every = max(1, tcfg.steps // LOG_POINTS)
    acc: dict[str, float] = {}
    n_acc = 0
    amp = device.type == "cuda"
    model.train()

    def checkpoint(step: int) -> None:
        if dist.is_main:
            state.step = step
            save_checkpoint(model_dir, model, {**meta, "step": step}, tokenizer_path, state)

    t0 = time.perf_counter()
    for step in range(start, tcfg.steps):
        lr = lr_at(step, tcfg.lr, tcfg.warmup_steps, tcfg.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        b = collate(
            [train_rows[i] for i in plan.batch_at(step)],
            spec.action,
            spec.pad_id,
            spec.max_state_tokens,
            spec.max_action_tokens,
        )
        r, p = b.token_counts()
        state.real_tokens += r
        state.padded_tokens += p
        state.seen += b.size * dist.world
        b = b.to(device)
        dirs = sigreg_directions(tcfg.seed, step, spec.dims.d_latent, mcfg.sigreg_directions, device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            out = fwd(b)
        total, parts = loss(out, mcfg, dirs, gb)
        opt.zero_grad(set_to_none=True)
        total.backward()
        parts["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip))
        opt.step()
        model.update_ema()
        for k, v in parts.items():
            acc[k] = acc.get(k, 0.0) + v
        n_acc += 1
        done = step + 1
        if done % log_every == 0 or done == tcfg.steps:
            state.history.append({"step": done, "lr": lr, **{k: v / n_acc for k, v in acc.items()}})
            acc, n_acc = {}, 0
        if done % tcfg.eval_every == 0 and done < tcfg.steps:
            ev = evaluate(model, val_rows, tcfg.batch_size, device)
            state.history.append({"step": done, **ev})
            if dist.is_main:
                print(
                    f"[{spec.action}] step {done} loss {state.history[-2].get('loss', float('nan')):.4f} "
                    + " ".join(f"{k} {v:.4f}" for k, v in ev.items()),
                    file=sys.stderr,
                )
            if tcfg.gate_every_eval and done >= tcfg.warmup_steps:
                check_collapse(ev, tcfg.collapse, f"{spec.action} model step {done}")
        if done % tcfg.checkpoint_every == 0 or done == tcfg.steps:
            state.elapsed += time.perf_counter() - t0
            t0 = time.perf_counter()
            if done < tcfg.steps:
                checkpoint(done)
        if stop_after is not None and done >= stop_after and done < tcfg.steps:
            return None  # simulated kill (tests): whatever was checkpointed is all that survives
    state.elapsed += time.perf_counter() - t0 if start < tcfg.steps else 0.0
    ev = evaluate(model, val_rows, tcfg.batch_size, device)
    state.history.append({"step": tcfg.steps, **ev})
    check_collapse(ev, tcfg.collapse, f"{spec.action} model, end of training")
    checkpoint(tcfg.steps)
    history, elapsed = state.history, state.elapsed
    last = [h for h in history if "loss" in h][-1] if any("loss" in h for h in history) else {}
    return {
        "action": spec.action,
        "steps": tcfg.steps,
        "final_loss": last.get("loss"),
        "pred_loss": last.get("pred_loss"),
        "sigreg": last.get("sigreg"),
        **ev,
        "train_seconds": elapsed,
        "examples_per_s": state.seen / elapsed if elapsed > 0 else None,
        "padding_fraction": 1.0 - state.real_tokens / state.padded_tokens if state.padded_tokens else None,
        "history": history,
    }
