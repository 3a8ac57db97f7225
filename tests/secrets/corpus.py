"""Recall corpus: fake secrets of every kind planted in every carrier, generated at test time.

No source file holds a token literal: values are assembled from a seeded RNG (prefixes split in two),
so push protection and the scanner itself never trip on the test code, and nothing here is real. Each
(kind, carrier) plant has a fresh value; it counts as found when the scan reports a finding whose
fingerprint is the fingerprint of exactly the secret part (``Plant.secret``), so a match that cut the
value short or grabbed a neighbour does not count.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import random
import string
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Plant:
    kind: str
    carrier: str
    secret: str  # the sensitive part a finding's fingerprint must be of
    text: str  # how it appears in the carrier (with its keyword, if the kind needs one)


def _jwt(r: random.Random) -> tuple[str, str]:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    sub = "".join(r.choice(ALNUM) for _ in range(12))
    tok = part({"alg": "HS256", "typ": "JWT"}) + "." + part({"sub": sub, "iat": r.randrange(10**9, 2 * 10**9)})
    tok += "." + "".join(r.choice(B64URL) for _ in range(43))
    return tok, f"Authorization: Bearer {tok}"


def _pem(r: random.Random) -> tuple[str, str]:
    body = "\n".join("".join(r.choice(B64) for _ in range(64)) for _ in range(4))
    kind = "RSA " + "PRIVATE KEY"
    pem = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"
    return pem, pem


def _kinds() -> dict[str, Callable[[random.Random], tuple[str, str]]]:
    """kind -> generator of (secret, text as it would appear in a config, log or notebook)."""

    def rs(r: random.Random, n: int, alphabet: str = ALNUM) -> str:
        return "".join(r.choice(alphabet) for _ in range(n))

    def plain(prefix: str, n: int, alphabet: str = ALNUM) -> Callable[[random.Random], tuple[str, str]]:
        def gen(r: random.Random) -> tuple[str, str]:
            v = prefix + rs(r, n, alphabet)
            return v, f"value {v} end"  # no keyword nearby

        return gen

    def with_text(make: Callable[[random.Random], str], fmt: str) -> Callable[[random.Random], tuple[str, str]]:
        def gen(r: random.Random) -> tuple[str, str]:
            v = make(r)
            return v, fmt.format(v=v)

        return gen

    def db_url(r: random.Random) -> tuple[str, str]:
        pw = rs(r, 10) + rs(r, 4, string.digits) + rs(r, 2)
        return pw, f"DATABASE_URL=postgresql://app:{pw}@db.internal:5432/prod"

    def slack_app(r: random.Random) -> tuple[str, str]:
        v = "xa" + "pp-1-A" + rs(r, 10, UPPER_DIGITS) + "-" + rs(r, 13, string.digits) + "-" + rs(r, 64, HEX)
        return v, f"value {v} end"

    def slack_hook(r: random.Random) -> tuple[str, str]:
        v = "https://hooks." + "slack.com/services/T" + rs(r, 10, UPPER_DIGITS) + "/B" + rs(r, 10, UPPER_DIGITS)
        v += "/" + rs(r, 24)
        return v, f"webhook {v} end"

    def openai_legacy(r: random.Random) -> tuple[str, str]:
        v = "sk" + "-" + rs(r, 20) + "T3Blbk" + "FJ" + rs(r, 20)
        return v, f"value {v} end"

    def telegram(r: random.Random) -> tuple[str, str]:
        v = rs(r, 10, string.digits) + ":" + "AA" + rs(r, 33, B64URL.replace("-", ""))
        return v, f"bot {v} end"

    return {
        "aws-access-key-id": plain("AK" + "IA", 16, UPPER_DIGITS),
        "aws-secret-access-key": with_text(lambda r: rs(r, 40, B64), "aws_secret_access_key = {v}"),
        "boto-SecretAccessKey": with_text(lambda r: rs(r, 40, B64), '{{"AccessKeyId": "x", "SecretAccessKey": "{v}"}}'),
        "aws-session-token": with_text(lambda r: "FwoGZXIvYXdzE" + rs(r, 300, B64), '"SessionToken": "{v}"'),
        "huggingface-token": plain("h" + "f_", 34),
        "hf-s3-access-key-id": plain("HF" + "AK", 20, UPPER_DIGITS),
        "github-token": plain("gh" + "p_", 36),
        "github-fine-grained-pat": plain("github" + "_pat_", 82, ALNUM + "_"),
        "gitlab-token": plain("gl" + "pat-", 20),
        "slack-bot-token": with_text(
            lambda r: "xo" + "xb-" + rs(r, 11, string.digits) + "-" + rs(r, 13, string.digits) + "-" + rs(r, 24),
            "value {v} end",
        ),
        "slack-app-token": slack_app,
        "slack-webhook": slack_hook,
        "stripe-live-key": plain("sk" + "_live_", 24),
        "stripe-test-key": plain("sk" + "_test_", 24),
        "stripe-webhook-secret": plain("wh" + "sec_", 32),
        "openai-legacy-key": openai_legacy,
        "openai-project-key": plain("sk" + "-proj-", 156, B64URL),
        "anthropic-key": with_text(lambda r: "sk" + "-ant-api03-" + rs(r, 93, B64URL) + "AA", "value {v} end"),
        "jwt": _jwt,
        "private-key": _pem,
        "google-api-key": plain("AI" + "za", 35, B64URL),
        "db-url-password": db_url,
        "generic-password": with_text(lambda r: rs(r, 10) + "#" + rs(r, 8, string.digits), 'db_password = "{v}"'),
        "hex-api-key": with_text(lambda r: rs(r, 32, HEX), 'api_key = "{v}"'),
        "npm-token": plain("np" + "m_", 36),
        "pypi-token": plain("pypi-" + "AgEIcHlwaS5vcmc", 80, B64URL),
        "sendgrid-key": with_text(lambda r: "S" + "G." + rs(r, 22, B64URL) + "." + rs(r, 43, B64URL), "key {v} end"),
        "telegram-bot-token": telegram,
        "mailchimp-key": with_text(lambda r: rs(r, 32, HEX) + "-us" + str(r.randrange(1, 20)), "key {v} end"),
        "azure-storage-key": with_text(
            lambda r: "Account" + "Key=" + rs(r, 86, B64) + "==",
            "DefaultEndpointsProtocol=https;AccountName=acct;{v};EndpointSuffix=core.windows.net",
        ),
    }


KINDS = _kinds()

FILLER = "def f(x):\n    return x + 1  # ordinary code around the secret\n"

# ---------------------------------------------------------------------------------------------
# carriers: each writes the plants (one per kind) into dir/, as one or more files


def _text_block(plants: list[Plant]) -> str:
    return FILLER + "".join(f"{p.text}\n{FILLER}" for p in plants)


def _u_escaped(s: str) -> str:
    return '"' + "".join(f"\\u{ord(c):04x}" for c in s) + '"'


def _table(plants: list[Plant], kind: str) -> pa.Table:
    texts = [p.text for p in plants]
    n = len(texts)
    if kind == "string":
        return pa.table({"id": list(range(n)), "code": texts})
    if kind == "large_string":
        return pa.table({"code": pa.array(texts, pa.large_string())})
    if kind == "struct":
        return pa.table({"rec": pa.array([{"a": 1, "inner": {"s": t}} for t in texts])})
    if kind == "list":
        return pa.table({"ops": pa.array([["insert", t] for t in texts])})
    if kind == "map-key":
        return pa.table({"m": pa.array([[(t, "v")] for t in texts], pa.map_(pa.string(), pa.string()))})
    if kind == "map-value":
        return pa.table({"m": pa.array([[("k", t)] for t in texts], pa.map_(pa.string(), pa.string()))})
    if kind == "binary":
        return pa.table({"payload": pa.array([t.encode() for t in texts], pa.binary())})
    if kind == "binary-utf16":
        return pa.table({"payload": pa.array([t.encode("utf-16") for t in texts], pa.binary())})
    if kind == "binary-gzip":
        return pa.table({"payload": pa.array([gzip.compress(t.encode(), mtime=0) for t in texts], pa.binary())})
    if kind == "dictionary":
        return pa.table({"d": pa.array(texts).dictionary_encode()})
    if kind == "list-of-struct-binary":
        return pa.table({"x": pa.array([[{"b": t.encode()}] for t in texts])})
    raise ValueError(kind)


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(t: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    for t, body in chunks:
        out += chunk(t, body)
    return out + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


def _safetensors(metadata: dict[str, str], u8: bytes = b"") -> bytes:
    header: dict[str, object] = {"__metadata__": metadata, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    if u8:
        header["blob"] = {"dtype": "U8", "shape": [len(u8)], "data_offsets": [8, 8 + len(u8)]}
    blob = json.dumps(header).encode()
    return struct.pack("<Q", len(blob)) + blob + b"\x00" * 8 + u8


def _write(carrier: str, plants: list[Plant], d: Path) -> None:
    text = _text_block(plants)
    if carrier == "text":
        (d / "notes.md").write_text(text)
    elif carrier == "json":
        (d / "cfg.json").write_text(json.dumps({"notes": [p.text for p in plants], "n": 3}, indent=1))
    elif carrier == "json-u-escapes":
        (d / "cfg.json").write_text(
            "{" + ", ".join(f'"k{i}": {_u_escaped(p.text)}' for i, p in enumerate(plants)) + "}"
        )
    elif carrier == "jsonl":
        (d / "rows.jsonl").write_text("".join(json.dumps({"before": FILLER, "note": p.text}) + "\n" for p in plants))
    elif carrier in ("utf-8-bom", "utf-16", "utf-16-be", "utf-16-le-nobom", "utf-32"):
        enc = {"utf-8-bom": "utf-8-sig", "utf-16-le-nobom": "utf-16-le"}.get(carrier, carrier)
        data = text.encode(enc)
        if carrier == "utf-16-be":
            data = b"\xfe\xff" + data
        (d / "notes.txt").write_bytes(data)
    elif carrier == "gzip":
        (d / "log.txt.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    elif carrier == "bzip2":
        (d / "log.bz2").write_bytes(bz2.compress(text.encode()))
    elif carrier == "xz":
        (d / "log.xz").write_bytes(lzma.compress(text.encode()))
    elif carrier in ("zip-member", "zip-member-name", "zip-in-gzip"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i, p in enumerate(plants):
                if carrier == "zip-member-name":
                    z.writestr(f"{i}-{p.text}.txt", FILLER)
                else:
                    z.writestr(f"dir/m{i}.txt", FILLER + p.text + "\n")
        data = buf.getvalue()
        if carrier == "zip-in-gzip":
            (d / "bundle.zip.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (d / "bundle.zip").write_bytes(data)
    elif carrier == "tar-gz":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            for i, p in enumerate(plants):
                raw = (FILLER + p.text + "\n").encode()
                info = tarfile.TarInfo(f"m{i}.txt")
                info.size = len(raw)
                t.addfile(info, io.BytesIO(raw))
        (d / "bundle.tgz").write_bytes(buf.getvalue())
    elif carrier.startswith("parquet-") and carrier[8:] in _PARQUET_VALUES:
        pq.write_table(_table(plants, carrier[8:]), d / "t.parquet", row_group_size=7)
    elif carrier == "parquet-column-name":
        pq.write_table(pa.table({p.text: [1] for p in plants}), d / "t.parquet")
    elif carrier in ("parquet-field-metadata-key", "parquet-field-metadata-value"):
        key = carrier.endswith("key")
        fields = [
            pa.field(f"c{i}", pa.int64(), metadata={p.text: "x"} if key else {"note": p.text})
            for i, p in enumerate(plants)
        ]
        pq.write_table(pa.table([[1]] * len(plants), schema=pa.schema(fields)), d / "t.parquet")
    elif carrier in ("parquet-schema-metadata-key", "parquet-schema-metadata-value"):
        key = carrier.endswith("key")
        meta = {(p.text if key else f"k{i}"): ("v" if key else p.text) for i, p in enumerate(plants)}
        pq.write_table(pa.table({"n": [1]}).replace_schema_metadata(meta), d / "t.parquet")
    elif carrier in ("png-tEXt", "png-zTXt", "png-iTXt"):
        chunks = []
        for i, p in enumerate(plants):
            k, v = f"Comment{i}".encode(), p.text.encode()
            if carrier == "png-tEXt":
                chunks.append((b"tEXt", k + b"\0" + v))
            elif carrier == "png-zTXt":
                chunks.append((b"zTXt", k + b"\0\0" + zlib.compress(v)))
            else:
                chunks.append((b"iTXt", k + b"\0\1\0en\0\0" + zlib.compress(v)))
        (d / "plot.png").write_bytes(_png(chunks))
    elif carrier == "text-named-png":
        (d / "plot.png").write_text(text)
    elif carrier == "file-name":
        for i, p in enumerate(plants):
            (d / f"{i}-{p.text}.txt").write_text(FILLER)
    elif carrier == "safetensors-metadata":
        meta = {f"k{i}": p.text for i, p in enumerate(plants)}
        (d / "model.safetensors").write_bytes(_safetensors(meta))
    elif carrier == "safetensors-u8-tensor":
        (d / "model.safetensors").write_bytes(_safetensors({"format": "pt"}, text.encode()))
    else:
        raise ValueError(carrier)


_PARQUET_VALUES = (
    "string",
    "large_string",
    "struct",
    "list",
    "map-key",
    "map-value",
    "binary",
    "binary-utf16",
    "binary-gzip",
    "dictionary",
    "list-of-struct-binary",
)

CARRIERS: tuple[str, ...] = (
    "text",
    "json",
    "json-u-escapes",
    "jsonl",
    "utf-8-bom",
    "utf-16",
    "utf-16-be",
    "utf-16-le-nobom",
    "utf-32",
    "gzip",
    "bzip2",
    "xz",
    "zip-member",
    "zip-member-name",
    "zip-in-gzip",
    "tar-gz",
    *(f"parquet-{k}" for k in _PARQUET_VALUES),
    "parquet-column-name",
    "parquet-field-metadata-key",
    "parquet-field-metadata-value",
    "parquet-schema-metadata-key",
    "parquet-schema-metadata-value",
    "png-tEXt",
    "png-zTXt",
    "png-iTXt",
    "text-named-png",
    "file-name",
    "safetensors-metadata",
    "safetensors-u8-tensor",
)


def _fits(carrier: str, text: str) -> bool:
    """A file name holds no '/' or newline and at most 255 bytes; PEM blocks have newlines."""
    if carrier in ("file-name", "zip-member-name"):
        return "/" not in text and "\n" not in text and len(text.encode()) <= 200
    return True


def build(root: Path, seed: int = 0, decoys: bool = False) -> list[Plant]:
    """Write the whole corpus under ``root/<carrier>/``; return every plant. ``decoys``: the same files
    with each secret replaced by a placeholder of the kind docs use (a control: must scan clean)."""
    r = random.Random(seed)
    plants: list[Plant] = []
    for carrier in CARRIERS:
        here = []
        for kind, gen in KINDS.items():
            secret, text = gen(r)
            if decoys:
                secret, text = "", text.replace(secret, secret[:4] + "_YOUR_KEY_HERE")
            if _fits(carrier, text):
                here.append(Plant(kind, carrier, secret, text))
        d = root / carrier
        d.mkdir(parents=True)
        _write(carrier, here, d)
        plants += here
    return plants
