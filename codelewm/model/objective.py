"""The training objective as small top-level functions: predict, sigreg, infonce, loss.

loss = MSE(ẑ_after, z_after) + λ·SIGReg(latents) [+ w·InfoNCE]. SIGReg (LeJEPA) projects the
latents on K random unit directions, redrawn every step, and averages the Epps–Pulley statistic
N·∫|φ̂(t) − e^{−t²/2}|² e^{−t²/2} dt (trapezoid on t ∈ [0, 3], doubled for the symmetric half),
which is ~0 for an isotropic Gaussian and grows with N for collapsed or shifted latents.

Under data parallelism every term is computed over the global batch (:mod:`codelewm.model.globalbatch`):
the ECF means of cos/sin and N are global, InfoNCE negatives come from every rank, the directions are
the same on every rank (drawn from (seed, step) only), so the loss and, after DDP's averaging, the
gradients equal one process's on the concatenated batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from codelewm.config import ModelConfig
from codelewm.model.batch import Batch
from codelewm.model.globalbatch import GlobalBatch
from codelewm.model.jepa import JEPA

LOCAL = GlobalBatch()  # a single process


def predict(model: JEPA, batch: Batch) -> dict[str, Tensor]:
    """All latents for one batch: z_hat (predicted after), z_before, z_after (online), z_target."""
    return model(batch)


def random_directions(dim: int, k: int, generator: torch.Generator, device: torch.device | str) -> Tensor:
    """K unit vectors [dim, K]; drawn on CPU from ``generator`` so runs are reproducible anywhere."""
    a = torch.randn(dim, k, generator=generator)
    return (a / a.norm(dim=0, keepdim=True)).to(device)


def sigreg_directions(seed: int, step: int, dim: int, k: int, device: torch.device | str) -> Tensor:
    """The step's SIGReg directions [dim, K]: a function of (seed, step) only, hence identical on every
    rank and replayed exactly by a resumed run."""
    return random_directions(dim, k, torch.Generator().manual_seed(seed * 1_000_003 + step), device)


def sigreg(z: Tensor, directions: Tensor, knots: int = 17, gb: GlobalBatch = LOCAL) -> Tensor:
    """Epps–Pulley SIGReg of latents z [N, D] along directions [D, K]; scalar, lower = more Gaussian.
    With a distributed ``gb``, z holds this rank's rows and the statistic is the global batch's."""
    n = gb.n if gb.distributed else z.shape[0]
    x = z.float() @ directions.float()  # [N, K] 1-D projections
    t = torch.linspace(0.0, 3.0, knots, device=z.device)  # [T]
    xt = x[:, :, None] * t  # [N, K, T]
    ecf_re = gb.mean(torch.cos(xt))  # [K, T] empirical characteristic function (global batch mean)
    ecf_im = gb.mean(torch.sin(xt))
    gauss = torch.exp(-0.5 * t * t)  # target CF of N(0, 1), also the weight
    err = ((ecf_re - gauss) ** 2 + ecf_im**2) * gauss  # [K, T]
    integral = 2.0 * torch.trapezoid(err, t, dim=-1)  # [K] doubled: integrand is even in t
    return n * integral.mean()


EXACT_CHUNK = 256  # prediction rows per direct-difference block: bounds the [rows, N, D] float64 temporary


def energy(pred: Tensor, cands: Tensor, exact: bool = False, cand_sq: Tensor | None = None) -> Tensor:
    """Squared L2 energies [B, N] between predictions [B, D] and candidates [N, D]; lower = better.

    The one energy of the project. ``exact=False`` (training, nearest-neighbour search): float32
    matmul expansion ||p||² − 2p·c + ||c||², clamped at 0; ``cand_sq`` are the candidates' cached
    squared norms. ``exact=True`` (evaluation, scoring): float64 direct differences, because the
    expansion cancels catastrophically when a prediction is close to several candidates (siblings
    differ by a few tokens), turning real differences into ties; rankings must not depend on that.
    """
    if exact:
        p, c = pred.double(), cands.double()
        blocks = [(p[i : i + EXACT_CHUNK, None, :] - c[None]).pow(2).sum(-1) for i in range(0, p.shape[0], EXACT_CHUNK)]
        return torch.cat(blocks) if blocks else p.new_zeros(0, c.shape[0])
    pred, cands = pred.float(), cands.float()
    c_sq = cands.pow(2).sum(-1) if cand_sq is None else cand_sq
    return (pred.pow(2).sum(-1, keepdim=True) - 2 * pred @ cands.T + c_sq[None]).clamp_min(0.0)


def infonce(
    z_hat: Tensor, z_target: Tensor, temperature: float, z_unchanged: Tensor | None = None, gb: GlobalBatch = LOCAL
) -> Tensor:
    """In-batch contrastive term: logits = -energy/τ, the row's own after-state is the positive.

    Batches are planned by before_key groups, so the negatives include same-before siblings; with a
    distributed ``gb`` they are the after-states of every rank's rows. With ``z_unchanged`` [B, D] (the
    latent of each row's before-state read as a candidate), the unchanged state is one more negative of
    its own row: every instruction asks for a change, so "leave it as it is" must never win. Without it,
    ẑ = z_before + Δ makes the unchanged candidate the cheapest one to score well (the copy failure: the
    unchanged buggy program ranked first on most bug-fix problems).
    """
    own = None
    if z_unchanged is not None:
        own = -(z_hat.float() - z_unchanged.float()).pow(2).sum(-1, keepdim=True) / temperature  # [B, 1]
    if not gb.distributed:
        logits = -energy(z_hat, z_target) / temperature  # [B, B]
        if own is not None:
            logits = torch.cat([logits, own], dim=1)
        return F.cross_entropy(logits, torch.arange(z_hat.shape[0], device=z_hat.device))
    logits = -energy(z_hat, gb.gather(z_target)) / temperature  # [B_rank, B_global]
    if own is not None:
        logits = torch.cat([logits, own], dim=1)
    labels = gb.offset + torch.arange(z_hat.shape[0], device=z_hat.device)
    return gb.sum(F.cross_entropy(logits, labels, reduction="sum")) / gb.n


def unchanged_first_rate(z_hat: Tensor, z_target: Tensor, z_unchanged: Tensor) -> float:
    """Fraction of rows whose unchanged state scores better (lower energy) than their true after-state."""
    e_true = (z_hat.float() - z_target.float()).pow(2).sum(-1)
    e_same = (z_hat.float() - z_unchanged.float()).pow(2).sum(-1)
    return float((e_same < e_true).float().mean())


def pred_loss(z_hat: Tensor, z_target: Tensor, gb: GlobalBatch = LOCAL) -> Tensor:
    """MSE between predicted and target after-latents over the (global) batch."""
    if not gb.distributed:
        return F.mse_loss(z_hat.float(), z_target.float())
    return gb.sum((z_hat.float() - z_target.float()).pow(2).sum()) / (gb.n * z_hat.shape[1])


def loss(
    out: dict[str, Tensor], cfg: ModelConfig, directions: Tensor, gb: GlobalBatch = LOCAL
) -> tuple[Tensor, dict[str, float]]:
    """Total loss and its parts (floats, for logging), over the global batch described by ``gb``."""
    gb = gb.with_rows(out["z_hat"].shape[0], out["z_hat"].device)
    mse = pred_loss(out["z_hat"], out["z_target"], gb)
    # SIGReg on the encoder's latents of both states: the space the energy is measured in
    k = cfg.sigreg_knots
    reg = 0.5 * (sigreg(out["z_before"], directions, k, gb) + sigreg(out["z_after"], directions, k, gb))
    total = mse + cfg.sigreg_weight * reg
    parts = {"pred_loss": float(mse.detach()), "sigreg": float(reg.detach())}
    if cfg.infonce_weight > 0:
        unchanged = out["z_unchanged"] if cfg.unchanged_negative else None
        nce = infonce(out["z_hat"], out["z_target"], cfg.infonce_temperature, unchanged, gb)
        total = total + cfg.infonce_weight * nce
        parts["infonce"] = float(nce.detach())
    parts["loss"] = float(total.detach())
    return total, parts
