"""Stage train: the action-conditioned model into out/main and the no-action control into out/control.

Both models use identical settings (sizes, steps, seed, data); the control only differs in
``action=none``. Writes metrics/train.json (interface 6; wall-clock figures go to
metrics/train.timings.json), DVCLive curves under ``<live_dir>/plots/metrics/{main,control}/*.tsv``
and the stage manifest ``<out>/manifest.json`` over both model dirs. Under ``torchrun``
(WORLD_SIZE > 1) training is data-parallel; only rank 0 writes anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path
from typing import Any

from codelewm.config import ExtractConfig, ModelConfig, TrainConfig, to_dict
from codelewm.data.tokenizer import PAD_ID, load_tokenizer
from codelewm.device import cleanup_distributed, init_distributed
from codelewm.model.batch import ROW_COLUMNS
from codelewm.model.jepa import ModelSpec
from codelewm.rowio import read_split
from codelewm.stageio import Stage, sha256_file
from codelewm.train.loop import train_model

TIMING_KEYS = ("train_seconds", "examples_per_s")  # per-model summary figures that depend on the machine


def data_hash(shards_dir: Path) -> str:
    """sha256 of the shards' manifest (or of the shard files when there is no manifest)."""
    m = Path(shards_dir) / "manifest.json"
    if m.is_file():
        return sha256_file(m)
    h = hashlib.sha256()
    for f in sorted(Path(shards_dir).glob("*/*.parquet")):
        h.update(f.relative_to(shards_dir).as_posix().encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()


def _check_ids(rows: list[dict[str, Any]], vocab: int, where: str) -> None:
    top = max(
        (max(r[c], default=-1) for r in rows for c in ("before_ids", "after_ids", "action_ids", "edit_op_ids")),
        default=-1,
    )
    if top >= vocab:
        raise ValueError(f"{where}: token id {top} >= tokenizer vocab size {vocab}; shards and tokenizer disagree")


def _log_curves(plots_dir: Path, results: dict[str, dict[str, Any]]) -> None:
    """DVCLive curves into ``plots_dir`` (= ``<live dir>/plots``, DVCLive's layout)."""
    from dvclive import Live

    live = Live(dir=str(plots_dir.parent), dvcyaml=None, save_dvc_exp=False)
    for name, res in results.items():
        for point in res["history"]:
            live.step = point["step"]
            for k, v in point.items():
                if k != "step" and v is not None:
                    live.log_metric(f"{name}/{k}", float(v), plot=True)


def run_train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    extract_cfg: ExtractConfig,
    shards_dir: Path,
    tokenizer_path: Path,
    out_dir: Path,
    metrics_path: Path,
    live_dir: Path,
    stop_after: int | None = None,
) -> dict[str, Any] | None:
    """Train main (+ control) models; return the train metrics dict (None if stopped early, tests)."""
    shards_dir, out_dir = Path(shards_dir), Path(out_dir)
    dist = init_distributed(train_cfg.device)
    try:
        train_rows = read_split(shards_dir, "train", columns=list(ROW_COLUMNS))
        val_rows = read_split(shards_dir, "val", columns=list(ROW_COLUMNS))
        vocab, pad = load_tokenizer(tokenizer_path).get_vocab_size(), PAD_ID
        _check_ids(train_rows + val_rows, vocab, str(shards_dir))
        meta = {
            "data_manifest_sha256": data_hash(shards_dir),
            "extract": to_dict(extract_cfg),
            "model_config": to_dict(model_cfg),
            "train_config": to_dict(train_cfg),
            "n_train": len(train_rows),
            "n_val": len(val_rows),
        }
        runs = {"main": model_cfg.action}
        if train_cfg.control_none:
            runs["control"] = "none"
        results: dict[str, dict[str, Any]] = {}
        for name, action in runs.items():
            mcfg = dataclasses.replace(model_cfg, action=action)
            spec = ModelSpec(
                action,
                mcfg.dims,
                vocab,
                pad,
                extract_cfg.max_state_tokens,
                extract_cfg.max_action_tokens,
                mcfg.ema_target,
            )
            if dist.is_main:
                print(
                    f"training {name} (action={action}) on {len(train_rows)} rows, "
                    f"{dist.world} process(es), {dist.device}",
                    file=sys.stderr,
                )
            res = train_model(
                spec,
                mcfg,
                train_cfg,
                train_rows,
                val_rows,
                out_dir / name,
                tokenizer_path,
                {**meta, "role": name},
                dist,
                stop_after,
            )
            if res is None:
                return None
            results[name] = res
        if not dist.is_main:
            return None
        metrics_path = Path(metrics_path)
        with Stage(
            "train",
            out_dir,
            params={"model": model_cfg, "train": train_cfg, "extract": extract_cfg},
            parents=[shards_dir, Path(tokenizer_path)],
            metrics=metrics_path,
            timings=metrics_path.with_name(f"{metrics_path.stem}.timings.json"),
            funnel=False,
        ) as st:
            for name, res in results.items():
                st.adopt(out_dir / name)  # checkpointed in place (resumable), each write atomic
                st.metrics[name] = {k: v for k, v in res.items() if k != "history" and k not in TIMING_KEYS}
                st.timings[name] = {k: res[k] for k in TIMING_KEYS}
            _log_curves(st.output(Path(live_dir) / "plots"), results)
        return st.result
    finally:
        cleanup_distributed()
