"""Batches: collate EXAMPLE_SCHEMA rows into padded tensors, and plan batches.

Batch planning keeps siblings (rows sharing ``before_key``) in the same batch, so in-batch negatives
include the hard ones (same before-state, different edit), and buckets by length: groups are sorted by
length inside a shuffled window and each batch is padded only to its own longest row, so padding does
not waste most of the compute. Plans are a pure function of (seed, epoch, rank, world) so a resumed
run replays exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

ACTION_COLUMN = {"text": "action_ids", "abstract": "edit_op_ids", "none": None}
ROW_COLUMNS = ("before_key", "before_ids", "after_ids", "after_mask", "action_ids", "edit_op_ids")


@dataclass
class Batch:
    before_ids: Tensor  # [B, Tb] long
    before_mask: Tensor  # [B, Tb] bool, True = real token
    after_ids: Tensor  # [B, Ta] long
    after_mask: Tensor  # [B, Ta] bool
    after_changed: Tensor  # [B, Ta] long, 1 = token on a changed line
    action_ids: Tensor  # [B, A] long (a single pad column for action=none)
    action_mask: Tensor  # [B, A] bool

    def to(self, device: str | torch.device) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).to(device, non_blocking=True) for f in fields(self)})

    @property
    def size(self) -> int:
        return int(self.before_ids.shape[0])

    def token_counts(self) -> tuple[int, int]:
        """(real tokens, padded tokens) over before + after + action tensors."""
        real = int(self.before_mask.sum() + self.after_mask.sum() + self.action_mask.sum())
        padded = self.before_mask.numel() + self.after_mask.numel() + self.action_mask.numel()
        return real, padded


def _pad(seqs: Sequence[Sequence[int]], pad_id: int, max_len: int, min_len: int = 1) -> tuple[Tensor, Tensor]:
    seqs = [list(s)[:max_len] for s in seqs]
    T = max(min_len, max((len(s) for s in seqs), default=0))  # noqa: N806
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.bool)
    for i, s in enumerate(seqs):
        if s:
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = True
        else:
            # an empty sequence still needs one attendable key, else attention over it is undefined
            mask[i, 0] = True
    return ids, mask


def collate(rows: Sequence[dict[str, Any]], action: str, pad_id: int, max_state: int, max_action: int) -> Batch:
    """Pad a list of EXAMPLE_SCHEMA rows into a Batch (state sequences truncated to max_state)."""
    before_ids, before_mask = _pad([r["before_ids"] for r in rows], pad_id, max_state)
    after_ids, after_mask = _pad([r["after_ids"] for r in rows], pad_id, max_state)
    changed = torch.zeros_like(after_ids)
    for i, r in enumerate(rows):
        m = list(r["after_mask"])[: after_ids.shape[1]]
        if m:
            changed[i, : len(m)] = torch.tensor(m, dtype=torch.long).clamp(0, 1)
    col = ACTION_COLUMN[action]
    if col is None:  # the no-action model never sees the action: do not even build the tensor
        action_ids = torch.full((len(rows), 1), pad_id, dtype=torch.long)
        action_mask = torch.ones((len(rows), 1), dtype=torch.bool)
    else:
        action_ids, action_mask = _pad([r[col] for r in rows], pad_id, max_action)
    return Batch(before_ids, before_mask, after_ids, after_mask, changed, action_ids, action_mask)


def row_length(row: dict[str, Any]) -> int:
    return max(len(row["before_ids"]), len(row["after_ids"]))


def plan_epoch(
    lengths: Sequence[int], keys: Sequence[str], batch_size: int, seed: int, epoch: int, window_batches: int = 32
) -> list[list[int]]:
    """Batches (lists of row indices) for one epoch: sibling groups kept together, length-bucketed."""
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    chunks: list[list[int]] = []
    for members in groups.values():  # a group larger than a batch is split into batch-sized chunks
        chunks.extend(members[j : j + batch_size] for j in range(0, len(members), batch_size))
    rng = random.Random(f"{seed}:{epoch}")
    rng.shuffle(chunks)
    batches: list[list[int]] = []
    window_rows = window_batches * batch_size
    start = 0
    while start < len(chunks):
        window, rows = [], 0
        while start < len(chunks) and rows < window_rows:
            window.append(chunks[start])
            rows += len(chunks[start])
            start += 1
        window.sort(key=lambda c: max(lengths[i] for i in c))
        cur: list[int] = []
        for c in window:
            if cur and len(cur) + len(c) > batch_size:
                batches.append(cur)
                cur = []
            cur = cur + c
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


class BatchPlan:
    """Infinite, deterministic sequence of batches over epochs; rank r of world w takes every w-th batch."""

    def __init__(
        self, lengths: Sequence[int], keys: Sequence[str], batch_size: int, seed: int, rank: int = 0, world: int = 1
    ):
        if not lengths:
            raise ValueError("no training rows")
        self.lengths, self.keys = list(lengths), list(keys)
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self._cached: tuple[int, list[list[int]]] | None = None  # the last epoch planned
        self._sizes: dict[int, int] = {}  # batches per epoch for this rank

    def _epoch(self, e: int) -> list[list[int]]:
        if self._cached is None or self._cached[0] != e:
            allb = plan_epoch(self.lengths, self.keys, self.batch_size, self.seed, e)
            per_rank = len(allb) // self.world  # equal counts so ranks never wait on each other
            if per_rank == 0:
                raise ValueError(f"too few batches ({len(allb)}) for world size {self.world}")
            self._cached = (e, allb[self.rank :: self.world][:per_rank])
            self._sizes[e] = per_rank
        return self._cached[1]

    def _size(self, e: int) -> int:
        if e not in self._sizes:
            self._epoch(e)
        return self._sizes[e]

    def batch_at(self, step: int) -> list[int]:
        """Row indices of this rank's batch at global step ``step`` (0-based)."""
        e, pos = 0, step
        while pos >= self._size(e):
            pos -= self._size(e)
            e += 1
        return self._epoch(e)[pos]
