"""Carriers: turn the bytes of a file into the texts a secret could hide in, sniffing content, not names.

``walk_bytes`` recognises a format by its magic bytes (a ``.png`` holding text is read as text) and
recurses into containers: gzip/bzip2/xz, zip and tar (member names and contents), PNG and safetensors
(:mod:`codelewm.secrets.binary`), Parquet (:mod:`codelewm.secrets.parquet`). Text is
decoded by BOM (UTF-8/16/32), as UTF-8, as BOM-less UTF-16, or as a legacy 8-bit encoding when it has
no control bytes; JSON string literals with escapes are decoded too (``\\u0068f_...`` hides nothing).
Anything else is :class:`Unscannable`: the scan fails rather than pass bytes nobody read. Reasons and
locations are built from offsets and fixed words only, never from the data (an exception's message
could quote it).
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_DEPTH = 8  # containers nested deeper than this are unscannable (and suspicious)
MIN_STRING_RUN = 8  # printable runs shorter than this cannot hold a credential any rule matches


@dataclass
class Segment:
    """Texts to scan (each on its own: no rule matches across two); ``label(i)`` names part ``i``."""

    parts: list[str]
    label: Callable[[int], str]

    def location(self, part: int, offset: int) -> str:
        return f"{self.label(part)} line {self.parts[part].count(chr(10), 0, offset) + 1}"


@dataclass
class Unscannable:
    location: str
    reason: str


Item = Segment | Unscannable


def joined(texts: list[str], label: Callable[[int], str]) -> Segment:
    return Segment(texts, label)


@dataclass
class Budget:
    """Caps on what one file may expand to: decompressed bytes and container depth (zip bombs)."""

    max_bytes: int
    used: int = 0

    def take(self, n: int) -> bool:
        self.used += n
        return self.used <= self.max_bytes


# ---------------------------------------------------------------------------------------------
# text


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_JSON_STRING = re.compile(r'"((?:[^"\\\n]|\\.){1,1000000}?)"')
_PRINTABLE_RUN = re.compile(rb"[\t\n\r\x20-\x7e]{%d,}" % MIN_STRING_RUN)


_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
MAX_CONTROL_FRACTION = 0.01  # text has almost no C0 control characters; binary decoded as text has many


def _texty(text: str) -> bool:
    return len(_TEXT_CONTROL.findall(text[:65536])) <= MAX_CONTROL_FRACTION * min(len(text), 65536)


def decode_text(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) when ``data`` is text in some encoding, else None. Bytes that decode but are
    full of control characters are binary: decoded as text, they would hide the strings inside them."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(enc)
            except UnicodeDecodeError:
                return None
            return (text, enc) if _texty(text) else None
    # BOM-less UTF-16 first: its NULs in every other byte are valid UTF-8 too
    if len(data) >= 4 and len(data) % 2 == 0 and b"\x00" in data:
        for enc, zeros in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
            if zeros.count(0) >= 0.3 * len(zeros):
                try:
                    text = data.decode(enc)
                except UnicodeDecodeError:
                    continue
                if _texty(text):
                    return text, enc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # latin-1/cp1252 source, legacy logs
        return (text, "8bit") if not _CONTROL.search(data) else None
    return (text, "utf-8") if _texty(text) else None


def has_hiding_escape(text: str) -> bool:
    """``\\uXXXX`` and ``\\/`` hide a token's characters, ``\\"`` the quotes keyword rules read; a bare
    ``\\n`` (common in code) hides nothing: the PEM rule reads JSON-escaped newlines itself."""
    return "\\u" in text or "\\/" in text or '\\"' in text


def json_decoded(text: str, depth: int = 0) -> list[str]:
    """Every JSON string literal of ``text`` with a hiding escape, decoded (recursively, for JSON in JSON)."""
    if depth > 3 or not has_hiding_escape(text):
        return []
    out = []
    for m in _JSON_STRING.finditer(text):
        body = m.group(1)
        if not has_hiding_escape(body):
            continue
        try:
            s = json.loads('"' + body + '"')
        except ValueError:
            continue
        out.append(s)
        out.extend(json_decoded(s, depth + 1))
    return out


def text_items(text: str, where: str) -> Iterator[Item]:
    yield Segment([text], lambda _i: where)
    decoded = json_decoded(text)
    if decoded:
        yield joined(decoded, lambda i: f"{where} JSON string #{i} (decoded)")


def printable_strings(data: bytes, where: str) -> Iterator[Item]:
    """ASCII runs (like ``strings``) and UTF-16-LE runs of binary data that is numbers, not text."""
    runs = [m.group().decode("ascii") for m in _PRINTABLE_RUN.finditer(data)]
    wide = re.findall(rb"(?:[\t\x20-\x7e]\x00){%d,}" % MIN_STRING_RUN, data)
    runs += [w.decode("utf-16-le") for w in wide]
    if runs:
        yield joined(runs, lambda i: f"{where} string #{i}")


# ---------------------------------------------------------------------------------------------
# containers


def decompress(kind: str, data: bytes, budget: Budget) -> bytes | None:
    """Decompress at most what the budget allows; None when it would exceed it."""
    limit = max(0, budget.max_bytes - budget.used) + 1
    if kind == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(data, limit)
        while d.eof and d.unused_data and len(out) < limit:  # concatenated gzip members
            rest = d.unused_data
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(rest, limit - len(out))
        if not d.eof and len(out) < limit:
            raise EOFError("truncated")
    elif kind == "zlib":
        d = zlib.decompressobj()
        out = d.decompress(data, limit)
    elif kind == "bzip2":
        out = bz2.BZ2Decompressor().decompress(data, limit)
    else:
        out = lzma.LZMADecompressor().decompress(data, limit)
    return out if budget.take(len(out)) else None


def _zip_items(data: bytes, where: str, budget: Budget, depth: int) -> Iterator[Item]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        yield joined([i.filename for i in infos] + [z.comment.decode("cp437")], lambda i: f"{where} member #{i} name")
        for n, info in enumerate(infos):
            here = f"{where} member #{n}"
            if info.flag_bits & 0x1:
                yield Unscannable(here, "encrypted zip member")
                continue
            if not budget.take(info.file_size):
                yield Unscannable(here, "decompressed size over the cap")
                return
            if info.is_dir():
                continue
            yield from walk_bytes(z.read(info), here, budget, depth + 1)


def _tar_items(data: bytes, where: str, budget: Budget, depth: int) -> Iterator[Item]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        members = t.getmembers()
        yield joined(
            [m.name for m in members] + [m.linkname for m in members if m.linkname], lambda i: f"{where} names"
        )
        for n, m in enumerate(members):
            if m.isfile():
                f = t.extractfile(m)
                if f is not None:
                    yield from walk_bytes(f.read(), f"{where} member #{n}", budget, depth + 1)


def walk_bytes(data: bytes, where: str, budget: Budget, depth: int = 0) -> Iterator[Item]:
    """Every text in ``data`` (a whole file or a member of one), sniffed by content."""
    if depth > MAX_DEPTH:
        yield Unscannable(where, "containers nested too deep")
        return
    try:
        if data[:4] == b"PAR1" and data[-4:] == b"PAR1":
            from codelewm.secrets.parquet import parquet_items  # pyarrow import only when needed

            yield from parquet_items(data, where, budget, depth)
            return
        for magic, kind in ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz")):
            if data.startswith(magic):
                out = decompress(kind, data, budget)
                if out is None:
                    yield Unscannable(where, "decompressed size over the cap")
                else:
                    yield from walk_bytes(out, f"{where} ({kind})", budget, depth + 1)
                return
        if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            yield from _zip_items(data, where, budget, depth)
            return
        if len(data) >= 262 and data[257:262] == b"ustar":
            yield from _tar_items(data, where, budget, depth)
            return
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            from codelewm.secrets.binary import png_items

            yield from png_items(data, where, budget, depth)
            return
        from codelewm.secrets.binary import is_safetensors, safetensors_items

        if is_safetensors(data):
            yield from safetensors_items(data, where)
            return
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError, zlib.error) as e:
        yield Unscannable(where, f"corrupt container ({type(e).__name__})")
        return
    decoded = decode_text(data)
    if decoded is None:
        yield Unscannable(where, "unknown binary format")
        return
    yield from text_items(decoded[0], where if decoded[1] in ("utf-8", "8bit") else f"{where} ({decoded[1]})")
