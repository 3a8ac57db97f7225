"""Tiny synthetic fixtures for tests and benchmarks: sibling edits, a tokenizer, a checkpoint, shards.

Edits come from the real mutation operators over a few hand-written functions (several operators per
function = sibling edits of one before-state), are featurized by the real ``Featurizer`` and saved
with the real checkpoint writer, so tests exercise the production paths end to end. The checkpoint is
randomly initialised (not trained): enough for mechanics and latency, never for quality claims.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codelewm.config import ExtractConfig, LMConfig, ModelConfig, to_dict
from codelewm.data.codestate import ExtractError
from codelewm.data.extract import Featurizer
from codelewm.data.sources.operators import OPERATORS, mutate
from codelewm.data.tokenizer import PAD_ID, train_tokenizer
from codelewm.lm.train import run_lm
from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION, stable_id

BASE_FUNCTIONS = (
    (
        "def total(values, limit):\n"
        "    acc = 0\n"
        "    for v in values:\n"
        "        if v > limit:\n"
        "            acc += v * 2\n"
        "    return acc\n"
    ),
    "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x + 0\n",
    (
        "def find_index(items, target):\n"
        "    i = 0\n"
        "    while i < len(items):\n"
        "        if items[i] == target:\n"
        "            return i\n"
        "        i += 1\n"
        "    return -1\n"
    ),
    (
        "def scale(points, factor):\n"
        "    out = []\n"
        "    for p in points:\n"
        "        q = p * factor\n"
        "        out.append(q - 1)\n"
        "    return out\n"
    ),
    (
        "def mean(xs, default):\n"
        "    n = len(xs)\n"
        "    if n == 0:\n"
        "        return default\n"
        "    s = sum(xs)\n"
        "    return s / n\n"
    ),
    (
        "def count_words(text, sep):\n"
        "    parts = text.split(sep)\n"
        "    n = 0\n"
        "    for p in parts:\n"
        "        if len(p) > 3:\n"
        "            n += 1\n"
        "    return n\n"
    ),
)


def sibling_transitions(
    seed: int = 0, per_base: int = 4, bases: tuple[str, ...] = BASE_FUNCTIONS
) -> list[dict[str, Any]]:
    """Transitions (before_file, after_file, instruction, op, before_key, symbol) with sibling edits."""
    rng = random.Random(seed)
    out = []
    for b, src in enumerate(bases):
        ops = list(OPERATORS)
        rng.shuffle(ops)
        made = 0
        for op in ops:
            m = mutate(src, op, rng)
            if m is None:
                continue
            name = src.split("(")[0].removeprefix("def ")
            out.append(
                {
                    "before_file": src,
                    "after_file": m.source,
                    "instruction": m.instruction,
                    "op": m.op,
                    "family": "edit",
                    "instruction_kind": "literal",
                    "before_key": f"base{b}",
                    "symbol": name,
                }
            )
            made += 1
            if made >= per_base:
                break
    return out


def make_tokenizer(texts: list[str], path: Path, vocab_size: int = 400) -> Path:
    cfg = ExtractConfig(vocab_size=vocab_size, min_frequency=1)
    train_tokenizer(texts, cfg, Path(path))
    return Path(path)


def make_checkpoint(
    model_dir: Path,
    tokenizer_path: Path,
    action: str = "text",
    size: str = "tiny",
    extract: ExtractConfig | None = None,
    seed: int = 0,
) -> Path:
    """A randomly initialised but complete model dir written by the production checkpoint writer."""
    import torch
    from tokenizers import Tokenizer

    from codelewm.model.checkpoint import save_checkpoint
    from codelewm.model.jepa import JEPA, ModelSpec

    extract = extract or ExtractConfig()
    dims = ModelConfig().sizes[size]
    vocab = Tokenizer.from_file(str(tokenizer_path)).get_vocab_size()
    spec = ModelSpec(
        action=action,
        dims=dims,
        vocab_size=vocab,
        pad_id=PAD_ID,
        max_state_tokens=extract.max_state_tokens,
        max_action_tokens=extract.max_action_tokens,
    )
    torch.manual_seed(seed)
    model = JEPA(spec)
    save_checkpoint(
        Path(model_dir), model, {"extract": to_dict(extract), "step": 0, "untrained": True}, Path(tokenizer_path)
    )
    return Path(model_dir)


def featurize_transitions(
    featurizer: Featurizer, transitions: list[dict[str, Any]], split_of: Any = None
) -> list[dict[str, Any]]:
    """EXAMPLE_SCHEMA rows; ``split_of(before_key) -> split`` (default: everything in test)."""
    rows = []
    for t in transitions:
        try:
            f = featurizer.featurize(t["before_file"], t["after_file"], t["instruction"], t["symbol"])
        except ExtractError:
            continue
        rid = stable_id("synthetic", t["before_key"], t["op"], t["after_file"])
        f.pop("symbol", None)
        rows.append(
            {
                "schema_version": SCHEMA_VERSION,
                "id": rid,
                "split": split_of(t["before_key"]) if split_of else "test",
                "source": "synthetic",
                "repo": t["before_key"],
                "path": "x.py",
                "symbol": t["symbol"],
                "license": "MIT",
                "op": t["op"],
                "family": t["family"],
                "instruction_kind": t["instruction_kind"],
                "before_key": t["before_key"],
                "instruction": t["instruction"],
                **f,
            }
        )
    return rows


def write_shards(shards_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """One shard file per split under ``shards_dir/<split>/``."""
    for split in ("train", "val", "test"):
        part = [r for r in rows if r["split"] == split]
        d = Path(shards_dir) / split
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part, schema=EXAMPLE_SCHEMA), d / "shard-00000.parquet")
    return Path(shards_dir)


def write_problems(path: Path, transitions: list[dict[str, Any]]) -> Path:
    """Downstream-shaped problems: per before-state, each sibling edit's instruction with all siblings'
    after-files as candidates, the matching one labelled passed (a stand-in for sandbox labels)."""
    import json
    from collections import defaultdict

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in transitions:
        groups[t["before_key"]].append(t)
    lines = []
    for key, ts in sorted(groups.items()):
        for k, t in enumerate(ts):
            cands = [{"code": s["after_file"], "passed": s is t} for s in ts]
            cands.append({"code": t["before_file"], "passed": False})  # the unchanged program
            lines.append(
                json.dumps(
                    {
                        "task_id": f"{key}/{k}",
                        "entry_point": t["symbol"],
                        "before": t["before_file"],
                        "instruction": t["instruction"],
                        "instructions": {"literal": t["instruction"], "generic": f"Fix the bug in {t['symbol']}."},
                        "candidates": cands,
                    }
                )
            )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def build_world(d: Path, split: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything an end-to-end test needs under ``d``: tokenizer, main (text) + control (none)
    checkpoints, shards (base0-1 train, base2 val, rest test) and a downstream-shaped problems file."""
    d = Path(d)
    split = split if split is not None else {"base0": "train", "base1": "train", "base2": "val"}
    t = sibling_transitions()
    texts = [x["before_file"] for x in t] + [x["after_file"] for x in t] + [x["instruction"] for x in t]
    tok = make_tokenizer(texts * 3, d / "tokenizer.json")
    make_checkpoint(d / "main", tok, action="text")
    make_checkpoint(d / "control", tok, action="none", seed=1)
    rows = featurize_transitions(Featurizer.from_file(tok, ExtractConfig()), t, lambda k: split.get(k, "test"))
    write_shards(d / "shards", rows)
    write_problems(d / "downstream" / "problems.jsonl", t)
    run_lm(LMConfig(order=3), d / "shards", tok, d / "lm")
    return {
        "dir": d,
        "transitions": t,
        "rows": rows,
        "main": d / "main",
        "control": d / "control",
        "lm": d / "lm",
        "shards": d / "shards",
        "tokenizer": tok,
    }
