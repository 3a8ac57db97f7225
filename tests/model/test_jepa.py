"""Model shapes, AdaLN-zero init, the no-action control and the EMA target."""

import torch

from codelewm.config import ModelConfig
from codelewm.model.batch import collate
from codelewm.model.jepa import JEPA, ModelSpec, forward_flops
from tests.fixtures.token_task import make_rows

TINY = ModelConfig(size="tiny").dims


def test_forward_shapes_and_flops():
    rows = make_rows(3, siblings=2)
    b = collate(rows, "text", 0, 64, 8)
    m = JEPA(ModelSpec("text", TINY, 64, 0, 64, 8))
    out = m(b)
    for k in ("z_hat", "z_before", "z_after", "z_target"):
        assert out[k].shape == (len(rows), TINY.d_latent)
    assert forward_flops(m.spec, b) > 0


def test_adaln_gates_start_at_zero_and_none_model_has_no_action_encoder():
    m = JEPA(ModelSpec("none", TINY, 64, 0, 64, 8))
    assert not hasattr(m, "action")
    assert all(not blk.ada[1].weight.detach().any() for blk in m.predictor.blocks)


def test_ema_target_follows_online_encoder():
    m = JEPA(ModelSpec("text", TINY, 64, 0, 64, 8, ema_target=0.5))
    with torch.no_grad():
        for p in m.state.parameters():
            p.add_(1.0)
    before = [p.clone() for p in m.target.parameters()]
    m.update_ema()
    moved = [not torch.equal(a, b) for a, b in zip(before, m.target.parameters())]
    assert any(moved) and not any(p.requires_grad for p in m.target.parameters())
