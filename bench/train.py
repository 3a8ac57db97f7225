"""Training throughput benchmark: examples/s, useful (non-padding) tokens/s and MFU.

MFU = model matmul FLOPs per step (forward_flops x 3 for forward+backward) / step time / peak FLOP/s.
Peak: on CUDA the nominal dense bf16 peak when the GPU is known (H100/H200: 989 TFLOP/s), and a
matmul measured in the same run for reference; on CPU there is no reliable nominal figure, so the
peak is a large fp32 matmul measured in the same run (said so in the output). Prints, never asserts.
Run: ``python -m bench train --size cpu`` (or via ``python -m bench train``).
"""

from __future__ import annotations

import random
import time

import click
import torch

from codelewm.config import ModelConfig
from codelewm.device import resolve_device
from codelewm.model.batch import collate
from codelewm.model.jepa import JEPA, ModelSpec, forward_flops
from codelewm.model.objective import loss, random_directions

NOMINAL_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0}


def _rows(n: int, seq: int, act: int, vocab: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        L = rng.randint(seq // 2, seq)  # noqa: N806
        before = [rng.randrange(5, vocab) for _ in range(L)]
        rows.append(
            {
                "before_key": str(i),
                "before_ids": before,
                "after_ids": before,
                "after_mask": [0] * L,
                "action_ids": [rng.randrange(5, vocab) for _ in range(rng.randint(4, act))],
                "edit_op_ids": [5],
            }
        )
    return rows


def measured_peak(device: torch.device, dtype: torch.dtype, n: int = 4096, reps: int = 10) -> float:
    """FLOP/s of a square matmul on this device (the CPU 'peak' this benchmark reports MFU against)."""
    if device.type == "cpu":
        n, reps = 1024, 5
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t)


@click.command()
@click.option("--size", type=click.Choice(["tiny", "cpu", "gpu"]), default="cpu", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--batch-size", type=int, default=None, help="default: 32 on CPU, 256 on CUDA")
@click.option("--seq", type=int, default=256, show_default=True, help="max state tokens")
@click.option("--steps", type=int, default=None, help="timed steps (default 5 CPU / 20 CUDA)")
@click.option("--compile/--no-compile", "use_compile", default=False)
def cli(size: str, device: str, batch_size: int | None, seq: int, steps: int | None, use_compile: bool) -> None:
    """Print training throughput and MFU for one model size on the current device."""
    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    batch_size = batch_size or (256 if cuda else 32)
    steps = steps or (20 if cuda else 5)
    mcfg = ModelConfig(size=size)
    spec = ModelSpec("text", mcfg.dims, 4096, 0, seq, 48)
    torch.manual_seed(0)
    model = JEPA(spec).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=cuda)
    fwd = torch.compile(model, dynamic=False) if (use_compile and cuda) else model
    rows = _rows(batch_size * 4, seq, 48, 4096, 0)
    batches = [collate(rows[i * batch_size : (i + 1) * batch_size], "text", 0, seq, 48) for i in range(4)]
    dirs = random_directions(spec.dims.d_latent, mcfg.sigreg_directions, torch.Generator().manual_seed(0), dev)

    def step(b):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = fwd(b)
        total, _ = loss(out, mcfg, dirs)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    gpu_batches = [b.to(dev) for b in batches]
    for i in range(3 if cuda else 1):  # warm-up (and compile)
        step(gpu_batches[i % 4])
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    flops = real = padded = 0.0
    for i in range(steps):
        b = gpu_batches[i % 4]
        step(b)
        flops += 3 * forward_flops(spec, b)
        r, p = batches[i % 4].token_counts()
        real, padded = real + r, padded + p
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    n_params = sum(p.numel() for p in model.parameters())
    achieved = flops / dt
    click.echo(f"device: {torch.cuda.get_device_name(dev) if cuda else 'cpu'} ({torch.get_num_threads()} threads)")
    click.echo(
        f"size={size} params={n_params / 1e6:.2f}M batch={batch_size} seq<={seq} steps={steps} "
        f"amp={'bf16' if cuda else 'fp32'}"
    )
    click.echo(f"step_time_ms: {1000 * dt / steps:.1f}")
    click.echo(f"examples_per_s: {batch_size * steps / dt:.1f}")
    click.echo(f"useful_tokens_per_s: {real / dt:.0f} (padding fraction {1 - real / padded:.3f})")
    click.echo(f"model_tflops_per_s: {achieved / 1e12:.3f}")
    peak = measured_peak(dev, torch.bfloat16 if cuda else torch.float32)
    click.echo(
        f"mfu_vs_measured_matmul_peak: {achieved / peak:.3f} (peak {peak / 1e12:.2f} TFLOP/s measured in this run)"
    )
    if cuda:
        name = torch.cuda.get_device_name(dev)
        nominal = next((v for k, v in NOMINAL_BF16_TFLOPS.items() if k in name), None)
        if nominal:
            click.echo(f"mfu_vs_nominal_bf16_peak: {achieved / (nominal * 1e12):.3f} (nominal {nominal:.0f} TFLOP/s)")
    else:
        click.echo("note: CPU has no nominal peak here; MFU is against a fp32 matmul measured in this run")


if __name__ == "__main__":
    cli()
