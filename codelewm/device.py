"""Device and process-group set-up, written once (as nanochat's ``common.py``): every stage and the CLI
resolve ``auto|cpu|cuda`` here, and training joins torchrun's process group here.

``init_distributed`` reads torchrun's env (RANK, WORLD_SIZE, LOCAL_RANK); with WORLD_SIZE > 1 it joins
a process group (nccl on CUDA, gloo on CPU). Run: ``torchrun --nproc_per_node=N -m pipeline.train ...``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist

from codelewm.config import DEVICES


class DeviceError(ValueError):
    """An unknown device name, or CUDA asked for where there is none."""


def resolve_device(name: str | torch.device, local_rank: int = 0) -> torch.device:
    """``auto`` = CUDA when present, else CPU; ``cuda`` fails loudly without CUDA (no silent CPU run)."""
    if isinstance(name, torch.device):
        if name.type == "cuda" and not torch.cuda.is_available():
            raise DeviceError(f"device {name} requested but CUDA is not available")
        if name.type not in ("cpu", "cuda"):
            raise DeviceError(f"device must be cpu or cuda, got {name}")
        return name
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("device cuda requested but CUDA is not available")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise DeviceError(f"device must be one of {'|'.join(DEVICES)}, got {name!r}")
    return torch.device("cpu")


@dataclass(frozen=True)
class Dist:
    """This process's place in the (possibly single-process) training run."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """Resolve the device and, under torchrun with WORLD_SIZE > 1, join the default process group."""
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
