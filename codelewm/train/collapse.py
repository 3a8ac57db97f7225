"""Collapse gate: diagnostics on held-out latents, and a hard failure when they cross thresholds.

The earlier attempt measured effective-rank ratios of 0.016-0.04 and shipped anyway; here the same
numbers stop training. Metrics (all on [N, D] latents):
- effective_rank_ratio: exp(entropy of normalized singular values of centred latents) / D;
- dim_std_median: median over dimensions of the per-dimension std;
- nn_entropy_ratio: entropy of "who is whose nearest neighbour" counts / log N (a collapsed or hubby
  space sends many points to the same neighbour).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from codelewm.config import CollapseGateConfig


class CollapseError(RuntimeError):
    """Training produced collapsed latents; the run fails instead of shipping a useless model."""


def effective_rank_ratio(z: Tensor) -> float:
    z = z.double()
    z = z - z.mean(0, keepdim=True)
    s = torch.linalg.svdvals(z)
    if float(s.sum()) <= 0.0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum())) / z.shape[1]


def dim_std_median(z: Tensor) -> float:
    return float(z.double().std(0).median())


def nn_entropy_ratio(z: Tensor) -> float:
    n = z.shape[0]
    if n < 3:
        return 0.0
    z = z.double()
    d = torch.cdist(z, z)
    d.fill_diagonal_(float("inf"))
    nn = d.argmin(1)  # identical points all tie and point at the same index
    counts = torch.bincount(nn, minlength=n).double()
    p = counts[counts > 0] / n
    return float(-(p * p.log()).sum()) / math.log(n)


def collapse_metrics(z: Tensor) -> dict[str, float]:
    """All gate metrics for latents z [N, D] (held-out after-states)."""
    z = z.detach().float().cpu()
    return {
        "effective_rank_ratio": effective_rank_ratio(z),
        "dim_std_median": dim_std_median(z),
        "nn_entropy_ratio": nn_entropy_ratio(z),
    }


def gate_violations(m: dict[str, float], cfg: CollapseGateConfig) -> list[str]:
    out = []
    if m["effective_rank_ratio"] < cfg.min_effective_rank_ratio:
        out.append(f"effective_rank_ratio {m['effective_rank_ratio']:.4f} < {cfg.min_effective_rank_ratio}")
    if m["dim_std_median"] < cfg.min_dim_std:
        out.append(f"dim_std_median {m['dim_std_median']:.2e} < {cfg.min_dim_std}")
    if m["nn_entropy_ratio"] < cfg.min_nn_entropy_ratio:
        out.append(f"nn_entropy_ratio {m['nn_entropy_ratio']:.4f} < {cfg.min_nn_entropy_ratio}")
    return out


def check_collapse(m: dict[str, float], cfg: CollapseGateConfig, where: str) -> None:
    """Raise CollapseError naming every crossed threshold."""
    bad = gate_violations(m, cfg)
    if bad:
        raise CollapseError(f"latent collapse at {where}: {'; '.join(bad)} (thresholds: train.collapse in params.yaml)")
