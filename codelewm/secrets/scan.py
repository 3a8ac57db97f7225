"""Secret scan over publishable artifacts: text, Parquet, safetensors headers and other binaries.

Every file under the scan paths is read by type, streaming so size does not matter:
- Parquet: every string/binary (and list-of-string) column of every row group, plus the file's
  key-value metadata;
- safetensors: the JSON header only (tensor names + ``__metadata__``); tensor bytes are numbers;
- images (png/jpg/gif): skipped by type and listed as skipped;
- anything else: text when it decodes as such, else its printable-ASCII runs (like ``strings``).
A file that claims a format but cannot be parsed is a finding (``unscannable-file``): the scan must
not silently pass what it could not read. Findings carry file, location, rule and a sha256-prefix
fingerprint — never the value — and fingerprints listed in ``cfg.allowlist`` are reported apart.
"""

from __future__ import annotations

import json
import struct
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from codelewm.config import SecretScanConfig
from codelewm.secrets.rules import RULES, Match, find_secrets, fingerprint
from codelewm.stageio import Stage, is_timings_file, sha256_file

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico"})
CHUNK_CHARS = 1 << 20
OVERLAP = 8192  # longer than any secret a rule matches, so no match is cut at a chunk boundary
MAX_HEADER_BYTES = 100 << 20  # safetensors caps its JSON header at 100 MB
_PRINTABLE = bytes(c if 32 <= c < 127 or c in (9, 10, 13) else 10 for c in range(256))


def scan_stream(chunks: Iterable[str]) -> Iterator[tuple[int, Match]]:
    """Matches over a text given in chunks, with 1-based line numbers; windows overlap by OVERLAP."""
    carry, line = "", 1
    pending = iter(chunks)
    chunk = next(pending, None)
    while chunk is not None:
        nxt = next(pending, None)
        window = carry + chunk
        final = nxt is None
        cutoff = len(window) if final else max(0, len(window) - OVERLAP)
        for m in find_secrets(window):
            if m.start < cutoff:  # later starts are seen again, whole, in the next window
                yield line + window.count("\n", 0, m.start), m
        line += window.count("\n", 0, cutoff)
        carry, chunk = window[cutoff:], nxt


def _text_chunks(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        while chunk := f.read(CHUNK_CHARS):
            yield chunk


def _binary_string_chunks(path: Path, limit: int) -> Iterator[str]:
    """Printable runs of a binary file (non-printables become newlines), up to ``limit`` bytes."""
    read = 0
    with open(path, "rb") as f:
        while read < limit and (block := f.read(min(CHUNK_CHARS, limit - read))):
            read += len(block)
            yield block.translate(_PRINTABLE).decode("ascii")


def _looks_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(head) - 4  # a multi-byte char cut at the boundary is still text
    return False


def _is_texty(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_texty(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _is_texty(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _cell_texts(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("utf-8", errors="replace")
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _cell_texts(v)


def scan_parquet(path: Path) -> Iterator[tuple[str, Match]]:
    """Stream every text-like column of every row group; locations name row group, row and column."""
    pf = pq.ParquetFile(path)
    meta = pf.schema_arrow.metadata or {}
    for k, v in meta.items():
        for line, m in scan_stream([k.decode("utf-8", "replace") + "\n" + v.decode("utf-8", "replace")]):
            yield f"parquet metadata key {k.decode('utf-8', 'replace')[:60]!r} line {line}", m
    cols = [f.name for f in pf.schema_arrow if _is_texty(f.type)]
    if not cols:
        return
    for rg in range(pf.num_row_groups):
        row = 0
        for batch in pf.iter_batches(batch_size=512, row_groups=[rg], columns=cols):
            data = batch.to_pydict()
            for col in cols:
                for i, value in enumerate(data[col]):
                    for text in _cell_texts(value):
                        for line, m in scan_stream([text]):
                            yield f"row_group {rg} row {row + i} column {col} line {line}", m
            row += batch.num_rows


def scan_safetensors(path: Path) -> Iterator[tuple[str, Match]]:
    """Scan only the JSON header (tensor names, dtypes, shapes, ``__metadata__`` strings)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError("shorter than the 8-byte header length")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise ValueError(f"header length {n} exceeds file size {size}")
        header = f.read(n).decode("utf-8")
    json.loads(header)  # a header that is not JSON means the file is not what it claims
    for line, m in scan_stream([header]):
        yield f"safetensors header line {line}", m


def iter_files(scan_paths: list[Path]) -> Iterator[Path]:
    """Files under ``scan_paths``; stage timings files are skipped: DVC and git ignore them, so they are
    never published (and hold only numbers)."""
    for p in scan_paths:
        p = Path(p)
        if p.is_file():
            yield p
        elif p.is_dir():
            files = (f for f in p.rglob("*") if f.is_file() and not f.is_symlink() and not is_timings_file(f))
            yield from sorted(files)
        else:
            raise FileNotFoundError(f"secret-scan: path to scan does not exist: {p}")


def scan_file(path: Path, cfg: SecretScanConfig) -> tuple[list[tuple[str, Match]], str]:
    """(matches with locations, how the file was read: text|parquet|safetensors|binary|skipped:...)."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return [], f"skipped:image{suffix}"
    try:
        if suffix == ".parquet":
            return list(scan_parquet(path)), "parquet"
        if suffix == ".safetensors":
            return list(scan_safetensors(path)), "safetensors"
    except (OSError, ValueError, pa.ArrowException) as e:
        # Unreadable = unscanned: fail loudly rather than pass a file nobody looked at.
        fp = fingerprint(sha256_file(path))
        return [(f"unreadable {suffix[1:]}: {type(e).__name__}", Match("unscannable-file", 0, fp))], "unscannable"
    if _looks_binary(path):
        chunks = _binary_string_chunks(path, cfg.max_file_bytes)
        matches = [(f"binary strings line {ln}", m) for ln, m in scan_stream(chunks)]
        return matches, "binary" if path.stat().st_size <= cfg.max_file_bytes else "binary:truncated"
    return [(f"line {ln}", m) for ln, m in scan_stream(_text_chunks(path))], "text"


def run_secret_scan(cfg: SecretScanConfig, scan_paths: list[Path], out_path: Path) -> int:
    """Scan every file under ``scan_paths``; write the redacted findings JSON (the stage's metrics, with
    ``<name>.manifest.json`` beside it); return #findings."""
    out_path = Path(out_path)
    with Stage(
        "secret-scan",
        out_path.parent,
        params={"secret_scan": cfg},
        parents=scan_paths,
        metrics=out_path.name,
        manifest=f"{out_path.stem}.manifest.json",
        timings=f"{out_path.stem}.timings.json",
        funnel=False,
    ) as st:
        st.metrics.update(_scan(cfg, scan_paths))
    return int(st.result["n_findings"])


def _scan(cfg: SecretScanConfig, scan_paths: list[Path]) -> dict[str, Any]:
    allow = set(cfg.allowlist)
    findings: list[dict[str, str]] = []
    allowed: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    read_as: Counter[str] = Counter()
    seen: set[tuple[str, str, str, str]] = set()
    for path in iter_files(scan_paths):
        matches, how = scan_file(path, cfg)
        read_as[how.split(":")[0]] += 1
        if how.startswith("skipped") or how.endswith("truncated"):
            skipped.append({"file": path.as_posix(), "reason": how})
        for location, m in matches:
            key = (path.as_posix(), location, m.rule, m.fingerprint)
            if key in seen:
                continue
            seen.add(key)
            rec = {"file": key[0], "location": location, "rule": m.rule, "fingerprint": m.fingerprint}
            (allowed if m.fingerprint in allow else findings).append(rec)
    for f in findings:  # the fingerprint identifies the finding for review/allowlisting; no value
        print(f"secret-scan: {f['file']} [{f['location']}] {f['rule']} fingerprint={f['fingerprint']}", file=sys.stderr)
    return {
        "n_findings": len(findings),
        "n_allowlisted": len(allowed),
        "files_scanned": sum(read_as.values()),
        "files_by_type": dict(sorted(read_as.items())),
        "by_rule": dict(sorted(Counter(f["rule"] for f in findings).items())),
        "findings": findings,
        "allowlisted": allowed,
        "skipped": skipped,
        "rules": [r.name for r in RULES] + ["unscannable-file"],
    }
