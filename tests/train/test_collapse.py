"""Collapse metrics and the gate: healthy latents pass, collapsed ones trip it."""

import pytest
import torch

from codelewm.config import CollapseGateConfig
from codelewm.train.collapse import CollapseError, check_collapse, collapse_metrics, gate_violations


def test_gaussian_latents_pass():
    m = collapse_metrics(torch.randn(256, 16))
    assert m["effective_rank_ratio"] > 0.8 and m["nn_entropy_ratio"] > 0.7 and 0.8 < m["dim_std_median"] < 1.2
    check_collapse(m, CollapseGateConfig(), "test")


@pytest.mark.parametrize(
    "z",
    [
        torch.zeros(128, 16),  # full collapse
        torch.randn(128, 1) * torch.ones(1, 16),  # one-dimensional
        1e-5 * torch.randn(128, 16),  # tiny spread
    ],
)
def test_collapsed_latents_trip_the_gate(z):
    m = collapse_metrics(z)
    assert gate_violations(m, CollapseGateConfig())
    with pytest.raises(CollapseError, match="latent collapse"):
        check_collapse(m, CollapseGateConfig(), "test")
