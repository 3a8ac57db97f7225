"""Transformer building blocks shared by the state encoder, action encoder and predictor.

Pre-norm blocks with fused attention (``F.scaled_dot_product_attention``) so the GPU path uses
flash / memory-efficient kernels; key-padding masks are boolean ``[B, T]`` with True = real token.
AdaLN-zero blocks (DiT / LeWorldModel) let a pooled action vector modulate every predictor block;
their modulation is zero-initialised (by ``JEPA.init_weights``, the one init of the model) so each
block starts as the identity and the action's influence is learned rather than imposed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _attn_mask(key_mask: Tensor | None) -> Tensor | None:
    # [B, Tk] bool -> [B, 1, 1, Tk] broadcast over heads and queries
    return None if key_mask is None else key_mask[:, None, None, :]


class Attention(nn.Module):
    """Multi-head (self or cross) attention; queries from x, keys/values from ctx (default x)."""

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        assert d_model % n_head == 0, "d_model must be divisible by n_head"
        self.n_head = n_head
        self.q = nn.Linear(d_model, d_model, bias=False)
        self.kv = nn.Linear(d_model, 2 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.dropout = dropout

    def forward(self, x: Tensor, key_mask: Tensor | None, ctx: Tensor | None = None) -> Tensor:
        ctx = x if ctx is None else ctx
        B, T, C = x.shape  # noqa: N806
        S = ctx.shape[1]  # noqa: N806
        h = self.n_head
        q = self.q(x).view(B, T, h, C // h).transpose(1, 2)  # [B, h, T, C/h]
        k, v = self.kv(ctx).split(C, dim=-1)
        k = k.view(B, S, h, C // h).transpose(1, 2)  # [B, h, S, C/h]
        v = v.view(B, S, h, C // h).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=_attn_mask(key_mask), dropout_p=self.dropout if self.training else 0.0
        )
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # [B, T, C]


class MLP(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.0):
        super().__init__()
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.out = nn.Linear(4 * d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.out(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)); x + mlp(ln(x))."""

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_head, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, dropout)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


def _modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


class AdaLNBlock(nn.Module):
    """Predictor block over state tokens, conditioned on the action.

    The pooled action vector c [B, d] produces shift/scale/gate for the self-attention, the
    cross-attention (state tokens attend to action tokens) and the MLP; all gates start at zero.
    """

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.attn = Attention(d_model, n_head, dropout)
        self.ln_x = nn.LayerNorm(d_model, elementwise_affine=False)
        self.xattn = Attention(d_model, n_head, dropout)
        self.ln2 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.mlp = MLP(d_model, dropout)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d_model, 9 * d_model))  # zero at init: identity

    def forward(self, x: Tensor, mask: Tensor | None, c: Tensor, a_tok: Tensor, a_mask: Tensor) -> Tensor:
        # x [B, T, d] state tokens; c [B, d] pooled action; a_tok [B, A, d]; a_mask [B, A]
        s1, sc1, g1, s2, sc2, g2, s3, sc3, g3 = self.ada(c).chunk(9, dim=-1)
        x = x + g1[:, None, :] * self.attn(_modulate(self.ln1(x), s1, sc1), mask)
        x = x + g2[:, None, :] * self.xattn(_modulate(self.ln_x(x), s2, sc2), a_mask, ctx=a_tok)
        return x + g3[:, None, :] * self.mlp(_modulate(self.ln2(x), s3, sc3))


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over real tokens: x [B, T, d], mask [B, T] bool -> [B, d]."""
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Max over real tokens: x [B, T, d], mask [B, T] bool -> [B, d].

    State latents pool by max, not mean: the mean of LayerNorm'd token states over 50-256 tokens
    varies little between snippets except along a length/common-mode direction, and SIGReg could
    not spread it (eval effective-rank ratio stuck at 0.03 on the default data, SIGReg-only
    training included). Max pooling reached 0.43 after 100 SIGReg-only steps on the same data.
    """
    return x.masked_fill(~mask[..., None], torch.finfo(x.dtype).min).amax(1)


class Projector(nn.Module):
    """MLP head mapping a pooled d_model vector to the d_latent energy space.

    LayerNorm, not BatchNorm: batches are length-bucketed and sibling-grouped, so batch statistics
    differ systematically from the running statistics used at eval. With BatchNorm, SIGReg was
    satisfied inside each batch while eval latents collapsed onto one direction (effective-rank
    ratio 0.04 on the default data); LayerNorm behaves the same in train and eval. Its two linear
    layers get a unit-scale init (``JEPA.init_weights``).
    """

    def __init__(self, d_in: int, d_latent: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, d_in), nn.LayerNorm(d_in), nn.GELU(), nn.Linear(d_in, d_latent))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
