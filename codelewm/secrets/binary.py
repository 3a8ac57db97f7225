"""Binary carriers with text inside: PNG text chunks and safetensors headers.

PNG: tEXt/zTXt/iTXt (and the iCCP profile name) are read as text, chunks that are not part of the image
as printable strings, bytes after IEND like a file of their own; a bad CRC is unscannable. safetensors:
the JSON header (tensor names, ``__metadata__``), U8/I8 tensors as printable strings (wider dtypes are
numbers); every data byte must belong to exactly one tensor, so nothing hides in gaps or after the end.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator

from codelewm.secrets.carriers import Budget, Item, Unscannable, decompress, printable_strings, text_items, walk_bytes

_PNG_IMAGE_CHUNKS = frozenset(
    b"IHDR PLTE IDAT IEND tRNS cHRM gAMA sBIT sRGB bKGD hIST pHYs sPLT tIME acTL fcTL fdAT cICP mDCv cLLi".split()
)


def png_items(data: bytes, where: str, budget: Budget, depth: int) -> Iterator[Item]:
    pos = 8
    n = 0
    while pos < len(data):
        if pos + 12 > len(data):
            yield Unscannable(f"{where} byte {pos}", "truncated PNG chunk")
            return
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4 or zlib.crc32(ctype + body) != struct.unpack(">I", crc)[0]:
            yield Unscannable(f"{where} chunk #{n}", "corrupt PNG chunk")
            return
        here = f"{where} chunk #{n}"
        if ctype in (b"tEXt", b"zTXt", b"iTXt", b"iCCP"):
            key, _, rest = body.partition(b"\0")
            texts = [key.decode("latin-1")]
            if ctype == b"tEXt":
                texts.append(rest.decode("latin-1"))
            elif ctype == b"iTXt" and len(rest) >= 2:
                flag, lang_etc = rest[0], rest[2:]
                lang, _, rest2 = lang_etc.partition(b"\0")
                translated, _, txt = rest2.partition(b"\0")
                if flag:
                    txt = decompress("zlib", txt, budget) or b""
                texts += [lang.decode("latin-1"), translated.decode("utf-8", "replace"), txt.decode("utf-8", "replace")]
            elif ctype == b"zTXt" and rest:
                out = decompress("zlib", rest[1:], budget)
                if out is None:
                    yield Unscannable(here, "decompressed size over the cap")
                    return
                texts.append(out.decode("latin-1"))
            # iCCP: the profile name is text, the profile itself is an ICC colour table
            for t in texts:
                yield from text_items(t, f"{here} text")
        elif ctype not in _PNG_IMAGE_CHUNKS:
            yield from printable_strings(body, f"{here} (unknown chunk)")
        pos += 12 + length
        n += 1
        if ctype == b"IEND":
            break
    if pos < len(data):  # bytes after IEND: whatever was appended must be scannable itself
        yield from walk_bytes(data[pos:], f"{where} after IEND", budget, depth + 1)


_ST_DTYPES = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32"}
_ST_DTYPES |= {"F64", "I64", "U64", "F4", "F6_E2M3", "F6_E3M2", "E8M0", "F8_E8M0"}


def is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (n,) = struct.unpack("<Q", data[:8])
    return 2 <= n <= len(data) - 8 and data[8:9] == b"{"


def safetensors_items(data: bytes, where: str) -> Iterator[Item]:
    (n,) = struct.unpack("<Q", data[:8])
    try:
        header_text = data[8 : 8 + n].decode("utf-8")
        header = json.loads(header_text)
    except ValueError:
        yield Unscannable(f"{where} header", "safetensors header is not JSON")
        return
    yield from text_items(header_text, f"{where} header")
    if not isinstance(header, dict):
        yield Unscannable(f"{where} header", "safetensors header is not an object")
        return
    body = data[8 + n :]
    spans = []
    for k, (name, info) in enumerate(header.items()):
        if name == "__metadata__":
            continue
        ok = isinstance(info, dict) and info.get("dtype") in _ST_DTYPES and isinstance(info.get("data_offsets"), list)
        if not ok or len(info["data_offsets"]) != 2 or not all(isinstance(o, int) for o in info["data_offsets"]):
            yield Unscannable(f"{where} tensor #{k}", "unknown safetensors dtype or offsets")
            return
        start, end = info["data_offsets"]
        spans.append((start, end))
        if info["dtype"] in ("U8", "I8"):  # bytes could be text; numbers of wider dtypes are not read
            yield from printable_strings(body[start:end], f"{where} tensor #{k}")
    spans.sort()
    pos = 0
    for start, end in spans:  # every data byte belongs to exactly one tensor: nothing hides between
        if start != pos or end < start:
            yield Unscannable(f"{where} data byte {pos}", "safetensors data has gaps or overlaps")
            return
        pos = end
    if pos != len(body):
        yield Unscannable(f"{where} data byte {pos}", "bytes after the last safetensors tensor")
