"""Stage plumbing shared by every stage: funnel counting, quarantine, manifests, metrics.

One manifest format (``manifest.json``): each output file's sha256 and size, the parent manifests'
hashes, the params section(s) used with their hash, and the code version. One metrics format
(``metrics.json`` funnel): ``{"stage", "in", "kept", "dropped": {reason: n}}`` with the identity
``in == kept + sum(dropped)`` enforced when written.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codelewm.config import params_hash, to_dict
from codelewm.records import QUARANTINE_SCHEMA
from codelewm.rowio import RecordWriter

PACKAGE_DIR = Path(__file__).resolve().parent


class AccountingError(RuntimeError):
    """The funnel does not add up: a row was lost or counted twice."""


@dataclass
class Funnel:
    """Counts rows in, kept and dropped per reason for one stage, and collects quarantined rows."""

    stage: str
    n_in: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def keep(self, n: int = 1) -> None:
        self.n_in += n
        self.kept += n

    def drop(self, reason: str, n: int = 1) -> None:
        self.n_in += n
        self.dropped[reason] += n

    def as_dict(self) -> dict[str, Any]:
        total = self.kept + sum(self.dropped.values())
        if total != self.n_in:
            raise AccountingError(f"{self.stage}: in={self.n_in} but kept+dropped={total}")
        return {
            "stage": self.stage,
            "in": self.n_in,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_total": sum(self.dropped.values()),
            **self.extra,
        }


class QuarantineWriter:
    """Streams quarantined rows to ``quarantine.parquet`` and counts them in the funnel."""

    def __init__(self, path: Path, stage: str, funnel: Funnel):
        self.path = Path(path)
        self.stage = stage
        self.funnel = funnel
        self._out = RecordWriter(self.path, QUARANTINE_SCHEMA)

    def add(self, row_id: str, reason: str, detail: str, source: str, payload: bytes | str) -> None:
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogatepass")
        self._out.write(
            {
                "id": row_id,
                "stage": self.stage,
                "reason": reason,
                "detail": detail[:500],
                "source": source,
                "payload": payload,
            }
        )
        self.funnel.drop(reason)

    def close(self) -> None:
        self._out.close()  # always writes the file (empty when nothing was dropped) so DVC outs exist

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_version() -> str:
    """Git commit of the checkout when available, plus a hash of the library sources (dirty trees)."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(p.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(p.read_bytes())
    src = h.hexdigest()[:16]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=PACKAGE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{commit or 'nogit'}+src.{src}"


def _expand(outputs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for o in outputs:
        o = Path(o)
        if o.is_dir():
            files.extend(sorted(p for p in o.rglob("*") if p.is_file() and p.name != "manifest.json"))
        elif o.exists():
            files.append(o)
        else:
            raise FileNotFoundError(f"declared output missing: {o}")
    return files


def write_manifest(
    out_dir: Path,
    stage: str,
    outputs: Iterable[Path],
    params: dict[str, Any] | None = None,
    parents: Iterable[Path] = (),
) -> dict[str, Any]:
    """Write ``out_dir/manifest.json`` describing ``outputs`` (files or dirs, recursively)."""
    out_dir = Path(out_dir)
    base = out_dir.resolve()
    files = {}
    for f in _expand(outputs):
        try:
            key = f.resolve().relative_to(base).as_posix()
        except ValueError:
            key = f.as_posix()
        files[key] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
    parent_info = {}
    for p in parents:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"parent manifest missing: {p}")
        parent_info[p.as_posix()] = sha256_file(p)
    params = params or {}
    manifest = {
        "stage": stage,
        "files": dict(sorted(files.items())),
        "parents": parent_info,
        "params": to_dict(params),
        "params_hash": params_hash(params),
        "code_version": code_version(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify_manifest(manifest_path: Path) -> list[str]:
    """Return a list of problems (missing file, size or sha256 mismatch); empty = intact."""
    manifest_path = Path(manifest_path)
    m = json.loads(manifest_path.read_text())
    problems = []
    for rel, info in m["files"].items():
        f = manifest_path.parent / rel
        if not f.exists():
            problems.append(f"missing: {rel}")
        elif f.stat().st_size != info["bytes"] or sha256_file(f) != info["sha256"]:
            problems.append(f"changed: {rel}")
    return problems


def write_json(path: Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")
    os.replace(tmp, path)


def write_metrics(path: Path, funnel: Funnel, **more: Any) -> dict[str, Any]:
    """Write the stage's funnel (and any extra metrics) as JSON; raises if the funnel doesn't add up."""
    data = {**funnel.as_dict(), **more}
    write_json(path, data)
    return data
