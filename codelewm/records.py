"""The one record schema that flows between data stages, and the packed shard schema.

``TRANSITION_SCHEMA`` is what ingest emits and license-gate/dedup pass on (dedup fills ``split``).
Extract adds CodeState/EditAction views and token ids, giving ``EXAMPLE_SCHEMA``: the exact schema of
packed Parquet shards, versioned by ``SCHEMA_VERSION``. ``QUARANTINE_SCHEMA`` holds every row a stage
drops, with the reason, so ``kept + sum(dropped) == ingested`` can be checked end to end.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

SCHEMA_VERSION = 1

SPLITS = ("train", "val", "test")

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
