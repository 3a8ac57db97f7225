"""The global batch of data-parallel training: the objective is defined on the union of every rank's
rows, so 2 processes train exactly the objective 1 process trains on the concatenated batch.

Each rank holds its own rows (sibling-grouped batches, so their sizes differ). The loss terms reduce
over the global batch through two autograd-aware collectives:

- :meth:`GlobalBatch.sum` all-reduces a per-rank partial sum (the ECF's sums of cos/sin for SIGReg,
  the squared errors, the InfoNCE terms); its backward all-reduces the incoming gradient;
- :meth:`GlobalBatch.gather` concatenates every rank's rows (InfoNCE negatives from all ranks, padded
  to equal size for the collective); its backward sums the gradient over ranks and keeps this rank's
  rows, so a row's gradient also carries its uses as another rank's negative.

Gradient scale: every rank computes the same global loss L. Through the collectives' backward each
rank's parameters receive W·∂L/∂θ from its own rows (the W identical copies of L each send their
gradient back), and DistributedDataParallel averages over the W ranks: Σ_r W·∂L/∂θ|_r / W = ∂L/∂θ,
the single-process gradient. No extra loss scaling is needed, and logged values are the global ones.
With ``world == 1`` every method is the plain local operation, bit for bit as without this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist
from torch import Tensor


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, group: Any) -> Tensor:
        ctx.group = group
        y = x.detach().clone()
        tdist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        g = grad.detach().clone()
        tdist.all_reduce(g, group=ctx.group)
        return g, None


class _GatherRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, sizes: tuple[int, ...], rank: int, group: Any) -> Tensor:
        ctx.sizes, ctx.rank, ctx.group = sizes, rank, group
        m = max(sizes)
        padded = x.new_zeros((m, *x.shape[1:]))
        padded[: x.shape[0]] = x.detach()
        parts = [torch.empty_like(padded) for _ in sizes]
        tdist.all_gather(parts, padded.contiguous(), group=group)
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
        g = grad.detach().contiguous().clone()
        tdist.all_reduce(g, group=ctx.group)
        start = sum(ctx.sizes[: ctx.rank])
        return g[start : start + ctx.sizes[ctx.rank]], None, None, None


@dataclass(frozen=True)
class GlobalBatch:
    """Where this rank's rows sit in the global batch (``sizes``: rows per rank, set per step by
    :meth:`with_rows`). The default, ``GlobalBatch()``, is a single process."""

    world: int = 1
    rank: int = 0
    group: Any = None  # process group of the loss collectives (None = the default group)
    sizes: tuple[int, ...] = ()

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def n(self) -> int:
        """Rows in the global batch (after :meth:`with_rows`)."""
        return sum(self.sizes)

    @property
    def offset(self) -> int:
        """Index of this rank's first row in the global batch."""
        return sum(self.sizes[: self.rank])

    def with_rows(self, n_local: int, device: torch.device | str = "cpu") -> GlobalBatch:
        """This step's batch: every rank's row count (one all-gather on ``device`` when distributed)."""
        if not self.distributed:
            return GlobalBatch(sizes=(n_local,))
        counts = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(self.world)]
        tdist.all_gather(counts, torch.tensor([n_local], device=device), group=self.group)
        return GlobalBatch(self.world, self.rank, self.group, tuple(int(c) for c in counts))

    def sum(self, x: Tensor) -> Tensor:
        """Sum of per-rank partial sums (differentiable)."""
        return _AllReduceSum.apply(x, self.group) if self.distributed else x

    def mean(self, x: Tensor) -> Tensor:
        """Mean over dim 0 of the global batch of per-rank rows ``x`` [n_local, ...]."""
        return self.sum(x.sum(0)) / self.n if self.distributed else x.mean(0)

    def gather(self, z: Tensor) -> Tensor:
        """Every rank's rows of ``z``, concatenated in rank order (differentiable)."""
        return _GatherRows.apply(z, self.sizes, self.rank, self.group) if self.distributed else z
