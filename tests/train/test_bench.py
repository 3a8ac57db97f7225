"""The benchmark command runs and prints its figures (no timing assertions)."""

import pytest
from click.testing import CliRunner

from bench.train import cli


def test_bench_prints_throughput_and_mfu():
    r = CliRunner().invoke(
        cli, ["--size", "tiny", "--device", "cpu", "--batch-size", "4", "--seq", "32", "--steps", "1"]
    )
    assert r.exit_code == 0, r.output
    for key in ("examples_per_s", "useful_tokens_per_s", "mfu_vs_measured_matmul_peak"):
        assert key in r.output


@pytest.mark.gpu
def test_bench_gpu_bf16():
    r = CliRunner().invoke(cli, ["--size", "gpu", "--device", "cuda", "--batch-size", "32", "--steps", "2"])
    assert r.exit_code == 0, r.output
    assert "mfu_vs_nominal_bf16_peak" in r.output or "mfu_vs_measured_matmul_peak" in r.output
