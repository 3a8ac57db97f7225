"""State and action encoders.

StateEncoder: tokens + positions + changed-line segment -> pre-norm transformer -> token states and
a pooled latent. Only after-states carry the changed-line mask; before-states always get segment 0,
because the before mask would reveal where the edit happens (the thing the model must predict).
ActionEncoder: a small transformer over action tokens (instruction text or abstract edit ops) giving
token states (for cross-attention) and a pooled vector (for AdaLN modulation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from codelewm.model.layers import Block, Projector, masked_max, masked_mean


class StateEncoder(nn.Module):
    def __init__(
        self, vocab_size: int, max_len: int, d_model: int, n_head: int, n_layer: int, d_latent: int, dropout: float
    ):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.seg = nn.Embedding(2, d_model)  # 0 = unchanged / before-state, 1 = token on a changed line
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, n_head, dropout) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.proj = Projector(d_model, d_latent)

    def forward(self, ids: Tensor, mask: Tensor, changed: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # ids [B, T] long, mask [B, T] bool, changed [B, T] long in {0, 1} or None (before-state)
        T = ids.shape[1]  # noqa: N806
        pos = torch.arange(T, device=ids.device)
        x = self.tok(ids) + self.pos(pos)[None]
        if changed is not None:
            x = x + self.seg(changed)
        else:
            x = x + self.seg.weight[0]
        x = self.drop(x)
        for blk in self.blocks:
            x = blk(x, mask)
        h = self.ln_f(x)  # [B, T, d]
        return h, self.proj(masked_max(h, mask))  # token states, latent [B, d_latent]


class ActionEncoder(nn.Module):
    def __init__(self, vocab_size: int, max_len: int, d_model: int, n_head: int, n_layer: int, dropout: float):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head, dropout) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)

    def forward(self, ids: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        # ids [B, A], mask [B, A] bool -> tokens [B, A, d], pooled [B, d]
        A = ids.shape[1]  # noqa: N806
        x = self.tok(ids) + self.pos(torch.arange(A, device=ids.device))[None]
        for blk in self.blocks:
            x = blk(x, mask)
        h = self.ln_f(x)
        return h, masked_mean(h, mask)


class NullAction(nn.Module):
    """The no-action control's conditioning: one learned constant token, whatever the batch says."""

    def __init__(self, d_model: int):
        super().__init__()
        self.token = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)

    def forward(self, batch_size: int) -> tuple[Tensor, Tensor, Tensor]:
        tok = self.token.expand(batch_size, 1, -1)  # [B, 1, d]
        mask = torch.ones(batch_size, 1, dtype=torch.bool, device=tok.device)
        return tok, mask, tok[:, 0, :]
