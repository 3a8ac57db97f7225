"""Tiny in-memory TRANSITION_SCHEMA rows over real Python code, shared by the data-pipeline tests."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codelewm.data.codestate import Indexer
from codelewm.data.modindex import (
    index_json,
    index_tree,
)
from codelewm.records import TRANSITION_SCHEMA, stable_id

MODULE = '''import os
from collections import OrderedDict as OD


class Cache(dict):
    """A tiny cache."""

    def get_item(self, key, default=None):
        if key in self:
            return self[key]
        return default

    def put(self, key, value):
        self[key] = value


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value


def total(items):
    result = 0
    for item in items:
        result += item
    return result
'''

# (symbol, old text, new text, instruction)
EDITS = [
    ("clamp", "if value < low:", "if value <= low:", "Make the lower bound check inclusive in clamp"),
    ("clamp", "    return value\n", "    return int(value)\n", "Return value as an int from clamp"),
    ("clamp", "if value > high:", "if high < value:", "Flip the comparison against high"),
    ("total", "result = 0", "result = 1", "Start the running total at one"),
    ("total", "result += item", "result -= item", "Subtract each item instead of adding it"),
    ("Cache.get_item", "return default", "return None", "Return None when the key is missing"),
    ("Cache.put", "self[key] = value", "self[key] = value\n        return value", "Return the stored value from put"),
]


def module_variant(i: int) -> str:
    """A distinct module per repo (identifiers renamed), so different repos are not near-duplicates."""
    return rename(i, MODULE)


def rename(i: int, text: str) -> str:
    if i == 0:
        return text
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "lambda_", "zeta"]
    w = words[i % len(words)] + str(i)
    for old, new in [
        ("clamp", f"clamp_{w}"),
        ("total", f"total_{w}"),
        ("result", f"acc_{w}"),
        ("value", f"val_{w}"),
        ("item", f"elem_{w}"),
        ("Cache", f"Cache{w.title()}"),
        ("key", f"k_{w}"),
    ]:
        text = text.replace(old, new)
    return text


def make_rows(n_repos: int = 1, edits: list[tuple[str, str, str, str]] | None = None) -> list[dict[str, Any]]:
    rows = []
    for r in range(n_repos):
        src = module_variant(r)
        for sym, old, new, instr in edits or EDITS:
            sym, old, new = (rename(r, x) for x in (sym, old, new))
            assert old in src, (old, r)
            after = src.replace(old, new, 1)
            repo = f"repo{r}"
            rows.append(
                {
                    "id": stable_id("test", repo, sym, old, new, instr),
                    "source": "synthetic",
                    "repo": repo,
                    "path": "mod.py",
                    "symbol": sym,
                    "license": "MIT",
                    "instruction": instr,
                    "op": "test",
                    "family": "edit",
                    "instruction_kind": "literal",
                    "before_file": src,
                    "before_index": index_json(ast.parse(src), src),  # as ingest makes it
                    "after_file": after,
                    "before_key": stable_id(repo, "mod.py", sym),
                    "meta": json.dumps({}),
                    "split": "",
                }
            )
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=TRANSITION_SCHEMA), path)
    return path


def write_funnel(path: Path, stage: str, n_in: int, kept: int, dropped: dict[str, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stage": stage, "in": n_in, "kept": kept, "dropped": dropped}))
    return path


def assert_indexes_match(rows: list[dict]) -> None:
    """Every row carries the module index of its before file, made from ingest's own parse: used as
    is downstream (supplied, never parsed) and equal to a fresh parse's."""
    files = {r["before_file"]: r["before_index"] for r in rows}
    ix = Indexer()
    for src, blob in files.items():
        assert ix.index(src, blob) == index_tree(ast.parse(src), src)
    assert ix.counts_dict() == {"supplied": len(files), "parsed": 0, "rejected": 0}
