"""A synthetic transition task for tests and benchmarks (no real code involved).

Before-states are random token sequences; each before-state gets several sibling edits whose
after-state is a deterministic function of (before, action): replace every token a by b, delete
every a, or insert b after the first a. Only the action tells the siblings apart, so an
action-conditioned model must beat the no-action one on it. Rows follow EXAMPLE_SCHEMA exactly.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>", "<sep>")
OPS = ("replace", "delete", "insert")
FIRST_OP_ID = len(SPECIALS)  # op tokens follow the specials
FIRST_WORD_ID = FIRST_OP_ID + len(OPS)


def _apply(before: list[int], op: str, a: int, b: int) -> tuple[list[int], list[int]]:
    if op == "replace":
        after = [b if t == a else t for t in before]
        mask = [int(t == a) for t in before]
    elif op == "delete":
        after = [t for t in before if t != a]
        mask = [0] * len(after)
        # mark the token that now sits where a deletion happened: the changed line
        j = 0
        for t in before:
            if t == a:
                if j < len(mask):
                    mask[j] = 1
            else:
                j += 1
    else:
        k = before.index(a) + 1
        after = before[:k] + [b] + before[k:]
        mask = [0] * len(after)
        mask[k] = 1
    return after, mask


def make_rows(
    n_before: int,
    siblings: int = 4,
    vocab: int = 64,
    min_len: int = 8,
    max_len: int = 40,
    seed: int = 0,
    split: str = "train",
) -> list[dict[str, Any]]:
    """EXAMPLE_SCHEMA rows: n_before before-states x `siblings` distinct edits each."""
    rng = random.Random(f"{seed}:{split}")
    rows = []
    for g in range(n_before):
        before = [rng.randrange(FIRST_WORD_ID, vocab) for _ in range(rng.randint(min_len, max_len))]
        used = set()
        for s in range(siblings * 4):
            if len(used) >= siblings:
                break
            op_i = rng.randrange(len(OPS))
            a, b = rng.choice(before), rng.randrange(FIRST_WORD_ID, vocab)
            if (op_i, a, b) in used or a == b:
                continue
            used.add((op_i, a, b))
            after, mask = _apply(before, OPS[op_i], a, b)
            key = f"{split}-{g}"
            rows.append(
                {
                    "schema_version": SCHEMA_VERSION,
                    "id": f"{key}-{s}",
                    "split": split,
                    "source": "synthetic",
                    "repo": "synthetic",
                    "path": "x.py",
                    "symbol": "f",
                    "license": "MIT",
                    "op": OPS[op_i],
                    "family": "edit",
                    "instruction_kind": "literal",
                    "before_key": key,
                    "instruction": f"{OPS[op_i]} {a} {b}",
                    "before_state": " ".join(map(str, before)),
                    "after_state": " ".join(map(str, after)),
                    "edit_ops": [OPS[op_i]],
                    "diff": "",
                    "before_ids": before,
                    "after_ids": after,
                    "after_mask": mask,
                    "action_ids": [FIRST_OP_ID + op_i, a, b],
                    "edit_op_ids": [FIRST_OP_ID + op_i, a, b],
                }
            )
    return rows


def write_shards(shards_dir: Path, splits: dict[str, list[dict[str, Any]]]) -> None:
    for split, rows in splits.items():
        d = Path(shards_dir) / split
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=EXAMPLE_SCHEMA), d / "part-00000.parquet")


def write_tokenizer(path: Path, vocab: int = 64) -> None:
    """A word-level tokenizer.json with the pipeline's special tokens first (<pad> = 0)."""
    words = list(SPECIALS) + list(OPS) + [f"w{i}" for i in range(FIRST_WORD_ID, vocab)]
    Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>")).save(str(path))


def make_dataset(
    root: Path, n_train: int = 48, n_val: int = 12, vocab: int = 64, seed: int = 0, **kw: Any
) -> tuple[Path, Path]:
    """Shards (train/val/test) + tokenizer under root; returns (shards_dir, tokenizer_path)."""
    shards = Path(root) / "shards"
    write_shards(
        shards,
        {
            "train": make_rows(n_train, vocab=vocab, seed=seed, split="train", **kw),
            "val": make_rows(n_val, vocab=vocab, seed=seed, split="val", **kw),
            "test": make_rows(n_val, vocab=vocab, seed=seed, split="test", **kw),
        },
    )
    tok = Path(root) / "tokenizer.json"
    write_tokenizer(tok, vocab)
    return shards, tok
