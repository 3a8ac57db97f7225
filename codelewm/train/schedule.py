"""Learning-rate schedule: linear warmup then cosine decay to a floor (nanoGPT style)."""

from __future__ import annotations

import math

MIN_LR_RATIO = 0.1  # decay to lr/10, not 0: the last steps still learn


def lr_at(step: int, base_lr: float, warmup: int, total: int) -> float:
    """Learning rate for 0-based ``step`` of ``total``."""
    if warmup > 0 and step < warmup:
        return base_lr * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    floor = base_lr * MIN_LR_RATIO
    return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (base_lr - floor)
