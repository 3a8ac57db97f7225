"""Parquet carrier: every name, every metadata entry and every text or byte value of any nested type.

Read: the file's key-value metadata (keys and values; ``ARROW:schema`` is read decoded, as the Arrow
schema, and as the printable strings of its bytes), every field name at any depth, each field's
metadata, ``created_by``, and the values of every column of every row group, flattened through struct,
list (all list kinds), map (keys and values), dictionary, union, run-end and extension types down to
string and binary leaves. A binary value goes through the carrier sniffer (a gzip or UTF-16 payload is
decoded like a file). A type with neither text nor children (numbers, times, decimals, null) holds no
text; any type this module does not know is unscannable. Locations name the row group, the top-level
row and the column by its index path; the name is added only when it is a short identifier (a name is
data too).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codelewm.secrets.carriers import (
    Budget,
    Item,
    Unscannable,
    has_hiding_escape,
    joined,
    json_decoded,
    printable_strings,
    walk_bytes,
)

BATCH_ROWS = 4096
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,39}")


def _no_text(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_null(t)
        or pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
        or pa.types.is_interval(t)
    )


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_binary(t: pa.DataType) -> bool:
    return (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    )


def _is_list(t: pa.DataType) -> bool:
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


Leaf = tuple[str, pa.Array, np.ndarray]  # (column index path, string/binary array, top-level row per element)


def _leaves(arr: pa.Array, rows: np.ndarray, path: str) -> Iterator[Leaf | Unscannable]:
    t = arr.type
    if _no_text(t):
        return
    if _is_string(t) or _is_binary(t):
        yield path, arr, rows
    elif isinstance(t, pa.ExtensionType):
        yield from _leaves(arr.storage, rows, path)
    elif pa.types.is_dictionary(t):
        yield from _leaves(arr.dictionary_decode(), rows, path)
    elif pa.types.is_struct(t):
        for i, child in enumerate(arr.flatten()):
            yield from _leaves(child, rows, f"{path}.{i}")
    elif pa.types.is_map(t):
        # a sliced map's .keys/.items ignore the slice: go through list<struct<key, value>>
        entries = pa.struct([pa.field("key", t.key_type), pa.field("value", t.item_type)])
        as_list = arr.cast(pa.list_(entries))
        parents = rows[np.asarray(pc.list_parent_indices(as_list), dtype=np.int64)]
        yield from _leaves(as_list.flatten(), parents, f"{path}.entries")
    elif _is_list(t):
        parents = rows[np.asarray(pc.list_parent_indices(arr), dtype=np.int64)]
        yield from _leaves(arr.flatten(), parents, f"{path}[]")
    elif pa.types.is_union(t):
        for i in range(t.num_fields):  # dense unions: child rows are not top-level rows
            child = arr.field(i)
            yield from _leaves(child, np.full(len(child), -1, dtype=np.int64), f"{path}|{i}")
    elif pa.types.is_run_end_encoded(t):
        dense = arr.cast(t.value_type)
        yield from _leaves(dense, rows, path)
    else:
        yield Unscannable(f"column {path}", "unsupported Parquet type")


def _field_names(schema: pa.Schema) -> Iterator[tuple[str, pa.Field]]:
    def walk(f: pa.Field, path: str) -> Iterator[tuple[str, pa.Field]]:
        yield path, f
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if isinstance(t, pa.ExtensionType):
            t = t.storage_type
        if pa.types.is_map(t):
            yield from walk(t.key_field, f"{path}.entries.0")
            yield from walk(t.item_field, f"{path}.entries.1")
        elif _is_list(t):
            yield from walk(t.value_field, f"{path}[]")
        elif pa.types.is_struct(t) or pa.types.is_union(t):
            for i in range(t.num_fields):
                yield from walk(t.field(i), f"{path}.{i}" if pa.types.is_struct(t) else f"{path}|{i}")

    for i, f in enumerate(schema):
        yield from walk(f, str(i))


def _kv(meta: dict[bytes, bytes] | None, where: str, skip: frozenset[bytes] = frozenset()) -> Iterator[Item]:
    """Keys and values of a metadata map, labelled by entry number (a key can be a secret)."""
    if not meta:
        return
    texts, labels = [], []
    for j, (k, v) in enumerate(meta.items()):
        texts.append(k.decode("utf-8", "replace"))
        labels.append(f"{where} entry #{j} key")
        if k not in skip:
            texts.append(v.decode("utf-8", "replace"))
            labels.append(f"{where} entry #{j} value")
    yield joined(texts, lambda i: labels[i])
    dec, owners = decoded_cells(texts, list(range(len(texts))))  # JSON values (pandas metadata)
    if dec:
        yield joined(dec, lambda i: f"{labels[owners[i]]} (JSON-decoded)")


def parquet_items(data: bytes, where: str, budget: Budget, depth: int) -> Iterator[Item]:
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as e:
        yield Unscannable(where, f"corrupt Parquet ({type(e).__name__})")
        return
    file_meta = pf.metadata.metadata or {}
    yield from _kv(file_meta, f"{where} file metadata", skip=frozenset({b"ARROW:schema"}))
    if b"ARROW:schema" in file_meta:  # also its raw strings, in case pyarrow did not use it
        try:
            yield from printable_strings(base64.b64decode(file_meta[b"ARROW:schema"]), f"{where} ARROW:schema")
        except ValueError:
            yield Unscannable(f"{where} ARROW:schema", "ARROW:schema is not base64")
    yield from _kv(schema.metadata, f"{where} schema metadata")
    fields = list(_field_names(schema))
    names = [f.name for _, f in fields] + [pf.metadata.created_by or ""]
    yield joined(names, lambda i: f"{where} field {fields[i][0]} name" if i < len(fields) else f"{where} created_by")
    for path, f in fields:
        yield from _kv(f.metadata, f"{where} field {path} metadata")
    labels = {path: (f"{path} ({f.name})" if _SAFE_NAME.fullmatch(f.name) else path) for path, f in fields}
    try:
        for rg in range(pf.num_row_groups):
            base = 0
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[rg], use_threads=False):
                rows = np.arange(base, base + batch.num_rows, dtype=np.int64)
                for c, col in enumerate(batch.columns):
                    for leaf in _leaves(col, rows, str(c)):
                        if isinstance(leaf, Unscannable):
                            yield Unscannable(f"{where} row_group {rg} {leaf.location}", leaf.reason)
                            continue
                        yield from _leaf_items(leaf, f"{where} row_group {rg}", labels, budget, depth)
                base += batch.num_rows
    except (pa.ArrowException, OSError, ValueError) as e:
        yield Unscannable(where, f"corrupt Parquet data ({type(e).__name__})")


def decoded_cells(texts: list[str], owners: list[int]) -> tuple[list[str], list[int]]:
    """JSON string literals with escapes inside each text, decoded, with the owner of each."""
    out, out_owners = [], []
    for t, o in zip(texts, owners):
        if has_hiding_escape(t):
            for d in json_decoded(t):
                out.append(d)
                out_owners.append(o)
    return out, out_owners


def _leaf_items(leaf: Leaf, where: str, labels: dict[str, str], budget: Budget, depth: int) -> Iterator[Item]:
    path, arr, rows = leaf
    col = labels.get(path, path)
    texts: list[str] = []
    text_rows: list[int] = []
    for i, v in enumerate(arr.to_pylist()):
        if v is None:
            continue
        if isinstance(v, bytes):
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError:  # not UTF-8: sniff it like a file (gzip, UTF-16, PNG ...)
                yield from walk_bytes(v, f"{where} row {rows[i]} column {col}", budget, depth + 1)
                continue
        texts.append(v)
        text_rows.append(int(rows[i]))
    if texts:
        yield joined(texts, lambda k: f"{where} row {text_rows[k]} column {col}")
        dec, dec_rows = decoded_cells(texts, text_rows)
        if dec:
            yield joined(dec, lambda k: f"{where} row {dec_rows[k]} column {col} (JSON-decoded)")
