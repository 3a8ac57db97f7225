"""The one record schema that flows between data stages, and the packed shard schema.

``TRANSITION_SCHEMA`` is what ingest emits and license-gate/dedup pass on (dedup fills ``split``).
Extract adds CodeState/EditAction views and token ids, giving ``EXAMPLE_SCHEMA``: the exact schema of
packed Parquet shards, versioned by ``SCHEMA_VERSION``. ``QUARANTINE_SCHEMA`` holds every row a stage
drops, with the reason, so ``kept + sum(dropped) == ingested`` can be checked end to end.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

SCHEMA_VERSION = 2  # 2: family + instruction_kind columns

SPLITS = ("train", "val", "test")
FAMILIES = ("edit", "fix", "wrong_fix", "commit")


def real_code_sides(family: str) -> tuple[str, ...]:
    """Which states of a row are real code rather than an injected mutation ("before", "after"): the
    corpus of the naturalness language model. A wrong fix is a mutation of a mutation: neither."""
    return {"edit": ("before",), "fix": ("after",), "wrong_fix": (), "commit": ("before", "after")}[family]


# One transition = one edit of one primary symbol (function/class) of one file.
TRANSITION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # stable: sha256 of source + locator
        pa.field("source", pa.string(), nullable=False),  # synthetic | git | hf
        pa.field("repo", pa.string(), nullable=False),  # group key: a repo never spans splits
        pa.field("path", pa.string(), nullable=False),  # file path inside the repo
        pa.field("symbol", pa.string(), nullable=False),  # qualified name of the primary symbol ("" = find)
        pa.field("license", pa.string(), nullable=False),  # SPDX expression as found ("" = unknown)
        pa.field("instruction", pa.string(), nullable=False),  # natural-language edit instruction
        pa.field("op", pa.string(), nullable=False),  # operator name (synthetic) or "commit"
        # task family: edit (an operator applied to real code), fix (a buggy state -> the real code),
        # wrong_fix (another operator applied to the buggy state: a sibling the fix must beat), commit
        pa.field("family", pa.string(), nullable=False),
        pa.field("instruction_kind", pa.string(), nullable=False),  # literal | descriptive | generic | commit
        pa.field("before_file", pa.large_string(), nullable=False),  # whole file before the edit
        # JSON module index of before_file made by ingest from its own parse ("" = none), so dedup and
        # extract need not parse the file again; verified against before_file's sha256 before use
        pa.field("before_index", pa.large_string(), nullable=False),
        pa.field("after_file", pa.large_string(), nullable=False),  # whole file after the edit
        pa.field("before_key", pa.string(), nullable=False),  # sibling key: same before-state = same key
        pa.field("meta", pa.string(), nullable=False),  # JSON: commit sha, operator args, ...
        pa.field("split", pa.string(), nullable=False),  # "" until dedup assigns train|val|test
    ]
)

# A packed training/evaluation example. Token ids come from the pipeline-trained tokenizer.
EXAMPLE_SCHEMA = pa.schema(
    [
        pa.field("schema_version", pa.int32(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("repo", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("license", pa.string(), nullable=False),  # normalized SPDX expression
        pa.field("op", pa.string(), nullable=False),
        pa.field("family", pa.string(), nullable=False),
        pa.field("instruction_kind", pa.string(), nullable=False),
        pa.field("before_key", pa.string(), nullable=False),
        pa.field("instruction", pa.string(), nullable=False),
        pa.field("before_state", pa.large_string(), nullable=False),  # normalized CodeState text
        pa.field("after_state", pa.large_string(), nullable=False),
        pa.field("edit_ops", pa.list_(pa.string()), nullable=False),  # abstract AST-diff op view
        pa.field("diff", pa.large_string(), nullable=False),  # unified diff: diagnostics only (leaky)
        pa.field("before_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("after_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("after_mask", pa.list_(pa.int8()), nullable=False),  # 1 = token on a changed line
        pa.field("action_ids", pa.list_(pa.int32()), nullable=False),  # instruction tokens
        pa.field("edit_op_ids", pa.list_(pa.int32()), nullable=False),  # abstract-view tokens
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),  # short machine-readable reason code
        pa.field("detail", pa.string(), nullable=False),  # human-readable detail (never secrets)
        pa.field("source", pa.string(), nullable=False),
        pa.field("payload", pa.large_binary(), nullable=False),  # the row as received (JSON or raw bytes)
    ]
)


def stable_id(*parts: str) -> str:
    """Deterministic row id from its locator parts (source, repo, commit, path, symbol, op...)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:24]
