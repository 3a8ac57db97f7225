"""SIGReg, energy and InfoNCE behave as specified."""

import torch

from codelewm.config import ModelConfig
from codelewm.model.objective import energy, infonce, loss, random_directions, sigreg, unchanged_first_rate


def _dirs(d: int = 16, k: int = 256, seed: int = 0) -> torch.Tensor:
    return random_directions(d, k, torch.Generator().manual_seed(seed), "cpu")


def test_sigreg_small_for_gaussian_large_for_collapse_and_shift():
    torch.manual_seed(0)
    d = _dirs()
    gauss = float(sigreg(torch.randn(512, 16), d))
    collapsed = float(sigreg(torch.zeros(512, 16) + 0.01 * torch.randn(512, 1), d))
    shifted = float(sigreg(torch.randn(512, 16) + 3.0, d))
    one_dim = float(sigreg(torch.randn(512, 1) * torch.ones(1, 16) / 4.0, d))
    assert gauss < 2.0
    assert collapsed > 50 * gauss
    assert shifted > 50 * gauss
    assert one_dim > 10 * gauss


def test_sigreg_gradient_flows_and_reduces_statistic():
    torch.manual_seed(0)
    z = (0.1 * torch.randn(128, 8)).requires_grad_()
    opt = torch.optim.Adam([z], lr=0.05)
    first = None
    for step in range(60):
        val = sigreg(z, _dirs(8, 128, step))
        first = float(val.detach()) if first is None else first
        opt.zero_grad()
        val.backward()
        assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
        opt.step()
    assert float(sigreg(z, _dirs(8, 128, 999)).detach()) < 0.3 * first


def test_directions_are_unit_and_redrawn_per_seed():
    a, b = _dirs(seed=1), _dirs(seed=2)
    assert torch.allclose(a.norm(dim=0), torch.ones(a.shape[1]), atol=1e-5)
    assert not torch.allclose(a, b)
    assert torch.equal(a, _dirs(seed=1))


def test_energy_is_squared_l2():
    p, c = torch.randn(3, 5), torch.randn(4, 5)
    ref = ((p[:, None, :] - c[None]) ** 2).sum(-1)
    assert torch.allclose(energy(p, c), ref, atol=1e-4)
    assert energy(c, c).diagonal().abs().max() < 1e-4


def test_infonce_prefers_matching_pairs_and_loss_adds_terms():
    z = torch.randn(8, 4)
    assert float(infonce(z, z, 0.1)) < float(infonce(z, z.roll(1, 0), 0.1))
    zb = torch.randn(8, 4)
    out = {"z_hat": z, "z_target": z + 0.1, "z_before": zb, "z_after": torch.randn(8, 4), "z_unchanged": zb}
    d = _dirs(4, 32)
    base, parts = loss(out, ModelConfig(infonce_weight=0.0), d)
    withnce, parts2 = loss(out, ModelConfig(infonce_weight=0.5), d)
    assert "infonce" not in parts and "infonce" in parts2
    assert abs(float(withnce) - float(base) - 0.5 * parts2["infonce"]) < 1e-4
    assert abs(parts["pred_loss"] - 0.01) < 1e-5


def test_unchanged_state_is_a_negative_of_its_own_row():
    torch.manual_seed(0)
    z_hat, z_tgt = torch.randn(6, 4), torch.randn(6, 4)
    near = z_hat + 0.01  # an unchanged candidate sitting right at the prediction: copying would win
    assert float(infonce(z_hat, z_tgt, 0.5, near)) > float(infonce(z_hat, z_tgt, 0.5)) + 1.0
    far = z_hat + 100.0  # far away: the extra negative costs (almost) nothing
    assert abs(float(infonce(z_hat, z_tgt, 0.5, far)) - float(infonce(z_hat, z_tgt, 0.5))) < 1e-4
    assert unchanged_first_rate(z_hat, z_tgt, near) == 1.0 and unchanged_first_rate(z_hat, z_tgt, far) == 0.0
    out = {"z_hat": z_hat, "z_target": z_tgt, "z_before": near, "z_after": z_tgt, "z_unchanged": near}
    on = loss(out, ModelConfig(unchanged_negative=True), _dirs(4, 32))[1]["infonce"]
    off = loss(out, ModelConfig(unchanged_negative=False), _dirs(4, 32))[1]["infonce"]
    assert on > off
