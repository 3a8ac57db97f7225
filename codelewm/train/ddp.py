"""Data-parallel training through torch.distributed, for ``torchrun --nproc_per_node=N``.

``init_distributed`` reads torchrun's env (RANK, WORLD_SIZE, LOCAL_RANK); with WORLD_SIZE > 1 it
joins a process group (nccl on CUDA, gloo on CPU). Each rank takes every WORLD_SIZE-th planned batch
(see BatchPlan), DDP all-reduces gradients, and only rank 0 writes checkpoints and metrics.
Run: ``torchrun --nproc_per_node=2 -m pipeline.train --shards ... --out ...``.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as tdist

from codelewm.train.loop import Dist, resolve_device


def init_distributed(device: str) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local)
    if world > 1 and not tdist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        tdist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Dist(rank=rank, world=world, device=dev)


def cleanup_distributed() -> None:
    if tdist.is_initialized():
        tdist.barrier()
        tdist.destroy_process_group()
