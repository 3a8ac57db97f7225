"""The JEPA transition model: state encoder, action encoder, action-conditioned predictor.

``ModelSpec`` is everything needed to rebuild the network from a checkpoint's config.json (sizes,
action view, vocabulary, max lengths). With ``ema_target > 0`` a frozen EMA copy of the state encoder
produces the prediction targets and the candidate latents (I-JEPA style); with 0 (LeWorldModel) the
online encoder does both and SIGReg alone prevents collapse.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from codelewm.config import ModelSize
from codelewm.model.batch import Batch
from codelewm.model.encoders import ActionEncoder, NullAction, StateEncoder
from codelewm.model.predictor import Predictor


@dataclass(frozen=True)
class ModelSpec:
    action: str  # text | abstract | none
    dims: ModelSize
    vocab_size: int
    pad_id: int
    max_state_tokens: int
    max_action_tokens: int
    ema_target: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> ModelSpec:
        return ModelSpec(**{**d, "dims": ModelSize(**d["dims"])})


class JEPA(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        m = spec.dims
        self.state = StateEncoder(
            spec.vocab_size, spec.max_state_tokens, m.d_model, m.n_head, m.n_layer, m.d_latent, m.dropout
        )
        if spec.action == "none":
            self.null_action = NullAction(m.d_model)
        else:
            self.action = ActionEncoder(
                spec.vocab_size, spec.max_action_tokens, m.d_model, m.n_head, m.n_action_layer, m.dropout
            )
        self.predictor = Predictor(m.d_model, m.n_head, m.n_pred_layer, m.d_latent, m.dropout)
        self.init_weights()
        self.target: StateEncoder | None = None
        if spec.ema_target > 0:
            self.target = copy.deepcopy(self.state)
            self.target.requires_grad_(False)

    def init_weights(self) -> None:
        """The model's one initialisation, in a fixed order (the RNG stream it draws decides the weights).

        1. every Linear and Embedding: N(0, 0.02), biases zero (nanoGPT), in ``Module.apply`` order;
        2. the state encoder's and the predictor's projector heads: unit scale (std 1/sqrt(fan_in)) so
           latents start near unit variance: with std 0.02 they start at ~0.02 and the first growth
           goes into one direction;
        3. the predictor's last layer zero: Δ = 0, the prediction starts as a copy of z_before;
        4. the AdaLN modulations zero: each predictor block starts as the identity (AdaLN-zero).
        """
        self.apply(_normal_init)
        for proj in (self.state.proj, self.predictor.proj):
            for lin in (proj.net[0], proj.net[-1]):
                nn.init.normal_(lin.weight, std=lin.in_features**-0.5)
                nn.init.zeros_(lin.bias)
        nn.init.zeros_(self.predictor.proj.net[-1].weight)
        for blk in self.predictor.blocks:
            nn.init.zeros_(blk.ada[1].weight)
            nn.init.zeros_(blk.ada[1].bias)

    def configure_optimizers(
        self, lr: float, weight_decay: float, betas: tuple[float, float], device_type: str
    ) -> torch.optim.AdamW:
        """AdamW over the trainable parameters in two groups (nanoGPT): matrices and embeddings decay,
        biases, norms and the null-action token (dim < 2) do not. Group and parameter order are fixed
        (checkpointed optimizer moments are keyed by position)."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=device_type == "cuda")

    # -- pieces -----------------------------------------------------------------------------------
    def encode_after(self, b: Batch) -> Tensor:
        """Target latent of the after-state [B, d_latent] (EMA encoder when there is one)."""
        enc = self.target if self.target is not None else self.state
        return enc(b.after_ids, b.after_mask, b.after_changed)[1]

    def encode_unchanged(self, b: Batch) -> Tensor:
        """Latent of the before-state read as a candidate that changes nothing [B, d_latent]."""
        enc = self.target if self.target is not None else self.state
        return enc(b.before_ids, b.before_mask, None)[1]

    def encode_action(self, b: Batch) -> tuple[Tensor, Tensor, Tensor]:
        if self.spec.action == "none":
            return self.null_action(b.size)
        a_tok, a_vec = self.action(b.action_ids, b.action_mask)
        return a_tok, b.action_mask, a_vec

    def predict(self, b: Batch) -> tuple[Tensor, Tensor]:
        """(predicted after-latent [B, D], pooled before-latent [B, D]) from before tokens + action.

        Residual: ẑ_after = z_before + Δ(before tokens, action), with Δ zero at init. An edit changes
        little, so "no change" is the natural starting point; without the residual, 150 CPU steps left
        the predictor outputting the latent mean (val R@1 at chance). The copy part cannot separate
        same-before siblings, so on sibling pools only the action-driven Δ can score.
        """
        h, z_before = self.state(b.before_ids, b.before_mask, None)
        a_tok, a_mask, a_vec = self.encode_action(b)
        return z_before + self.predictor(h, b.before_mask, a_vec, a_tok, a_mask), z_before

    def forward(self, b: Batch) -> dict[str, Tensor]:
        z_hat, z_before = self.predict(b)
        _, z_after = self.state(b.after_ids, b.after_mask, b.after_changed)
        if self.target is not None:
            with torch.no_grad():
                z_target = self.target(b.after_ids, b.after_mask, b.after_changed)[1]
                # the unchanged candidate as the energy sees it: the before-state through the target
                z_unchanged = self.target(b.before_ids, b.before_mask, None)[1]
        else:
            # an unchanged candidate has no changed line, so its latent is exactly z_before
            z_target, z_unchanged = z_after, z_before
        return {
            "z_hat": z_hat,
            "z_before": z_before,
            "z_after": z_after,
            "z_target": z_target,
            "z_unchanged": z_unchanged,
        }

    @torch.no_grad()
    def update_ema(self) -> None:
        if self.target is None:
            return
        d = self.spec.ema_target
        for pt, ps in zip(self.target.parameters(), self.state.parameters(), strict=True):
            pt.lerp_(ps.detach(), 1.0 - d)


def _normal_init(mod: nn.Module) -> None:
    if isinstance(mod, nn.Linear):
        nn.init.normal_(mod.weight, std=0.02)
        if mod.bias is not None:
            nn.init.zeros_(mod.bias)
    elif isinstance(mod, nn.Embedding):
        nn.init.normal_(mod.weight, std=0.02)


def forward_flops(spec: ModelSpec, b: Batch) -> float:
    """Matmul FLOPs of one training forward over the padded batch (x3 for forward+backward).

    Counts the transformer matmuls (2 FLOPs per multiply-add): per token and layer 12·d² for the
    projections and MLP plus 2·T·d for attention scores and values, per predictor token also the
    cross-attention; embeddings, norms and the small projector heads are ignored.
    """
    m = spec.dims
    d = m.d_model
    B, Tb = b.before_ids.shape  # noqa: N806
    Ta = b.after_ids.shape[1]  # noqa: N806
    A = b.action_ids.shape[1] if spec.action != "none" else 1  # noqa: N806

    def enc(T: int, n_layer: int) -> float:  # noqa: N803
        return n_layer * B * T * (2 * 12 * d * d + 2 * 2 * T * d)

    f = enc(Tb, m.n_layer) + enc(Ta, m.n_layer) * (2 if spec.ema_target > 0 else 1)
    if spec.action != "none":
        f += enc(A, m.n_action_layer)
    # predictor: self-attn block + cross-attn (q/proj on state tokens, k/v on action tokens)
    f += m.n_pred_layer * B * (Tb * (2 * 14 * d * d + 2 * 2 * Tb * d + 2 * 2 * A * d) + A * 2 * 2 * d * d)
    return float(f)
