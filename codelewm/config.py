"""Typed configuration: every ``params.yaml`` section maps to one frozen dataclass.

Defaults live here and only here; ``params.yaml`` restates them so DVC can track them. The loader
rejects unknown keys (a typo must not silently fall back to a default) and checks scalar types.
Each stage reads only its own section(s); ``dvc.yaml`` lists the keys it depends on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """Raised for unknown keys, wrong types or invalid values in params."""


# ----------------------------------------------------------------------------------------------
# data stages


@dataclass(frozen=True)
class SyntheticSourceConfig:
    roots: tuple[str, ...] = ()  # empty = the running interpreter's standard library (PSF-2.0)
    max_files: int = 400  # files scanned, in sorted path order
    max_before_states: int = 700  # distinct before-states kept
    siblings: int = 4  # different edits per before-state (>= 2 so sibling pools exist)
    min_symbol_lines: int = 4  # skip trivial one-liners: nothing to edit
    max_symbol_lines: int = 30  # longer symbols rarely fit extract.max_state_tokens
    license: str = "PSF-2.0"  # stdlib licence; set per-tree when roots are given


@dataclass(frozen=True)
class GitSourceConfig:
    repo: str = ""  # path to a local git repository
    rev_range: str = "HEAD"  # e.g. "v1.0..HEAD"; "HEAD" = whole history
    max_commits: int = 5000
    license: str = ""  # override; empty = detect from the repo's licence file


@dataclass(frozen=True)
class HFSourceConfig:
    dataset: str = "bigcode/commitpackft"  # hub id, used when data_files is empty
    name: str = "python"  # dataset config name
    split: str = "train"
    data_files: tuple[str, ...] = ()  # local parquet/jsonl files (offline path)
    max_rows: int = 0  # 0 = all


@dataclass(frozen=True)
class QualityConfig:
    min_message_chars: int = 8
    min_message_words: int = 2
    max_message_chars: int = 1000
    max_file_bytes: int = 200_000
    max_changed_lines: int = 200
    max_edit_ratio: float = 0.8  # changed lines / total lines; above = rewrite, not an edit
    skip_message_patterns: tuple[str, ...] = (
        r"^merge\b",
        r"^revert\b",
        r"\bwip\b",
        r"^bump\b",
        r"^update version",
        r"^release\b",
    )
    skip_path_patterns: tuple[str, ...] = (
        r"(^|/)(vendor|vendored|third_party|site-packages|node_modules)/",
        r"_pb2\.py$",
        r"(^|/)migrations/\d+",
        r"(^|/)setup\.py$",
    )


@dataclass(frozen=True)
class IngestConfig:
    source: str = "synthetic"  # synthetic | git | hf
    seed: int = 0
    synthetic: SyntheticSourceConfig = field(default_factory=SyntheticSourceConfig)
    git: GitSourceConfig = field(default_factory=GitSourceConfig)
    hf: HFSourceConfig = field(default_factory=HFSourceConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)

    def __post_init__(self) -> None:
        if self.source not in ("synthetic", "git", "hf"):
            raise ConfigError(f"ingest.source must be synthetic|git|hf, got {self.source!r}")


@dataclass(frozen=True)
class LicenseConfig:
    allow: tuple[str, ...] = (
        "MIT",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "ISC",
        "PSF-2.0",
        "Python-2.0",
        "CC0-1.0",
        "Unlicense",
        "0BSD",
        "Zlib",
    )


@dataclass(frozen=True)
class DedupConfig:
    shingle: int = 5  # token n-gram size for MinHash
    num_perm: int = 128
    threshold: float = 0.8  # Jaccard threshold for near-duplicates
    val_fraction: float = 0.1
    test_fraction: float = 0.15
    split_salt: str = "codelewm-v1"  # group hash salt: changing it reshuffles splits
    benchmark_threshold: float = 0.7  # Jaccard vs HumanEval above which a row is dropped


@dataclass(frozen=True)
class ExtractConfig:
    max_context_lines: int = 24  # imports + enclosing class header + sibling signatures
    max_state_tokens: int = 320  # fits ~95% of synthetic states and most HumanEval problems
    max_action_tokens: int = 48
    vocab_size: int = 4096
    min_frequency: int = 2


@dataclass(frozen=True)
class PackConfig:
    shard_rows: int = 2048


# ----------------------------------------------------------------------------------------------
# model and training


@dataclass(frozen=True)
class ModelSize:
    n_layer: int = 2  # state encoder depth: >1 so tokens see each other before pooling
    n_pred_layer: int = 2  # predictor depth (AdaLN-zero + cross-attention blocks over state tokens)
    n_action_layer: int = 1  # action (instruction) encoder depth: instructions are short
    n_head: int = 4  # head dim 16 at d_model 64
    d_model: int = 64  # CPU default: both models train in ~3 min on 2 cores (train/bench.py)
    d_latent: int = 64  # size of the pooled latent the energy is computed in
    dropout: float = 0.0  # small data, few steps: no dropout needed so far


@dataclass(frozen=True)
class ModelConfig:
    action: str = "text"  # text | abstract | none ("none" = really trained, never sees the action)
    size: str = "cpu"  # key into sizes
    sizes: dict[str, ModelSize] = field(
        default_factory=lambda: {
            "tiny": ModelSize(n_layer=1, n_pred_layer=1, n_action_layer=1, n_head=2, d_model=32, d_latent=32),
            "cpu": ModelSize(),
            "gpu": ModelSize(n_layer=8, n_pred_layer=6, n_action_layer=4, n_head=16, d_model=1024, d_latent=512),
        }
    )
    sigreg_weight: float = 0.1  # LeWorldModel lambda
    sigreg_directions: int = 1024  # K random directions, redrawn each step
    sigreg_knots: int = 17  # trapezoid knots on t in [0, 3]
    infonce_weight: float = 1.0  # sibling/in-batch InfoNCE: with MSE+SIGReg alone the action did not
    # separate same-before siblings (sibling R@1 0.274 vs no-action 0.259, chance 0.259); both models get it
    infonce_temperature: float = 0.1
    ema_target: float = 0.0  # 0 = no EMA target encoder (LeWorldModel); else decay e.g. 0.996

    def __post_init__(self) -> None:
        if self.action not in ("text", "abstract", "none"):
            raise ConfigError(f"model.action must be text|abstract|none, got {self.action!r}")
        if self.size not in self.sizes:
            raise ConfigError(f"model.size {self.size!r} not in model.sizes {sorted(self.sizes)}")

    @property
    def dims(self) -> ModelSize:
        return self.sizes[self.size]


@dataclass(frozen=True)
class CollapseGateConfig:
    min_effective_rank_ratio: float = 0.1  # effective rank / d_latent on held-out latents
    min_dim_std: float = 1e-3  # a latent whose median per-dim std falls below this is collapsed
    min_nn_entropy_ratio: float = 0.5  # nearest-neighbour entropy / log(N)


@dataclass(frozen=True)
class TrainConfig:
    device: str = "auto"  # auto | cpu | cuda
    seed: int = 0
    steps: int = 300  # ~5 epochs of ~1.9k rows: ~0.3 s/step on 2 cores -> ~3 min for main + control
    batch_size: int = 32  # rows per step; sibling groups (4) stay together
    lr: float = 1e-3  # AdamW peak lr, cosine-decayed to lr/10
    weight_decay: float = 0.05  # on matrices only (not norms/biases)
    warmup_steps: int = 15  # linear warmup; the eval-point collapse gate (if on) only after it
    grad_clip: float = 1.0
    eval_every: int = 50  # held-out loss + collapse metrics (gate) every this many steps
    checkpoint_every: int = 50  # resumable checkpoint cadence (a kill loses at most this many steps)
    control_none: bool = True  # also train the no-action control with identical settings
    compile: bool = False  # torch.compile on CUDA when it helps
    gate_every_eval: bool = False  # also enforce the collapse gate at eval points (always at the end)
    collapse: CollapseGateConfig = field(default_factory=CollapseGateConfig)


# ----------------------------------------------------------------------------------------------
# index, evaluation, downstream, report, secret scan


@dataclass(frozen=True)
class IndexConfig:
    batch_size: int = 256
    splits: tuple[str, ...] = ("test",)  # held-out splits to index (dvc.yaml deps must list each)
    device: str = "cpu"  # encoding device; the index is small, CPU keeps the stage portable


@dataclass(frozen=True)
class EvaluateConfig:
    seed: int = 0
    global_pool: int = 1000  # candidates in the global pool (all held-out after-states, capped)
    bootstrap: int = 1000  # paired bootstrap resamples for CIs
    probe_epochs: int = 200
    min_sibling_pool: int = 2  # distinct after-states a sibling pool needs to count (2 = chance R@1 0.5)
    surprise_max: int = 1000  # test rows given a mutant decoy (0 = all); featurizing is the cost
    probe_max_train: int = 5000  # train-split rows the op probe is fit on (0 = all)
    batch_size: int = 256  # inference batch size
    device: str = "cpu"  # cpu | cuda | auto; CPU keeps the stage reproducible on any machine


@dataclass(frozen=True)
class DownstreamConfig:
    seed: int = 0
    problems: int = 120  # >= 100 labelled problems
    min_candidates: int = 6
    max_candidates: int = 10
    timeout_s: float = 5.0
    memory_mb: int = 512
    cpu_s: int = 5
    max_procs: int = 64
    max_file_mb: int = 8
    workers: int = 2  # labelling processes (sandbox runs are CPU-bound; 2 cores on the reference box)
    max_tasks: int = 0  # 0 = every HumanEval task; >0 = the first N (quick experiments)


@dataclass(frozen=True)
class ReportConfig:
    title: str = "CodeLeWM report"
    # Stage dirs (by name) of the data chain whose funnels must satisfy ingested = packed + quarantined.
    funnel_chain: tuple[str, ...] = ("ingest", "license", "dedup", "extract", "shards")
    min_downstream_problems: int = 100  # fewer labelled problems = downstream claims INCONCLUSIVE
    bootstrap: int = 1000  # resamples for the surprise-AUC CI (other CIs come from evaluate)
    seed: int = 0
    dvc_experiments: bool = True  # add a model.action table from `dvc exp show --json` when available
    dvc_timeout_s: float = 60.0  # the repo lock may be held during `dvc repro`: give up, don't hang


@dataclass(frozen=True)
class SecretScanConfig:
    max_file_bytes: int = 50_000_000  # bytes of an unknown binary read for printable strings
    allowlist: tuple[str, ...] = ()  # finding fingerprints (sha256 prefix of the value) reviewed as false positives


@dataclass(frozen=True)
class Params:
    ingest: IngestConfig = field(default_factory=IngestConfig)
    license: LicenseConfig = field(default_factory=LicenseConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    pack: PackConfig = field(default_factory=PackConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    secret_scan: SecretScanConfig = field(default_factory=SecretScanConfig)


# ----------------------------------------------------------------------------------------------
# loading


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Convert a YAML value to the annotated type, or raise ConfigError naming the key."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        (inner, _ellipsis) = typing.get_args(tp)
        return tuple(_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        kt, vt = typing.get_args(tp)
        return {_coerce(kt, k, where): _coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return _coerce(inner, value, where)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {tp}")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build a frozen config dataclass from a mapping; unknown keys are an error."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown key(s) {', '.join(prefix + u for u in unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Load and validate params.yaml (missing sections/keys take the defaults above)."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return from_dict(Params, data)


def to_dict(cfg: Any) -> Any:
    """Plain JSON-able view of a config (tuples become lists)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def params_hash(cfg: Any) -> str:
    """Stable sha256 of a config section, recorded in manifests."""
    blob = json.dumps(to_dict(cfg), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()
