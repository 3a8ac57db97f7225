"""Action-conditioned predictor over the before-state's token states.

Each AdaLN-zero block lets the pooled action modulate the state tokens and lets every state token
cross-attend to the action tokens, so the action can select *where* in the code the edit lands
(the earlier attempt ran its predictor on a single pooled token, which made attention degenerate).
Output: the predicted after-latent [B, d_latent].
"""

from __future__ import annotations

from torch import Tensor, nn

from codelewm.model.layers import AdaLNBlock, Projector, masked_max


class Predictor(nn.Module):
    def __init__(self, d_model: int, n_head: int, n_layer: int, d_latent: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(AdaLNBlock(d_model, n_head, dropout) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.proj = Projector(d_model, d_latent)

    def forward(self, h: Tensor, mask: Tensor, c: Tensor, a_tok: Tensor, a_mask: Tensor) -> Tensor:
        # h [B, T, d] before-state tokens; c [B, d]; a_tok [B, A, d]; a_mask [B, A] -> [B, d_latent]
        x = h
        for blk in self.blocks:
            x = blk(x, mask, c, a_tok, a_mask)
        return self.proj(masked_max(self.ln_f(x), mask))
