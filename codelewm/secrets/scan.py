"""Secret scan over publishable artifacts: every file, every carrier in it, every name; fail closed.

Each path to scan (file or directory, walked without following links) yields entries. An entry that
is not a regular file (a symlink, FIFO, device), is larger than ``cfg.max_file_bytes``, or holds
anything the carriers cannot read (unknown binary, corrupt archive, encrypted member, ...) is an
``unscannable-file`` finding whose fingerprint is the file's sha256: it fails the scan unless that
sha256 is in ``cfg.allowlist`` (reviewed by a person). Every other file is read whole (the cap bounds
memory), walked by :func:`codelewm.secrets.carriers.walk_bytes`, and its path is scanned as text too.
A finding carries file, location, rule and a sha256-prefix fingerprint of the value, never the value;
a path component that holds a secret is shown redacted, and locations are built from numbers and
short identifier-like names only. Value fingerprints in ``cfg.allowlist`` are reported apart.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codelewm.config import SecretScanConfig
from codelewm.secrets.batch import Detector
from codelewm.secrets.carriers import Budget, Segment, Unscannable, walk_bytes
from codelewm.secrets.detect import find_secrets, rule_names
from codelewm.secrets.rules import fingerprint
from codelewm.stageio import Stage, is_timings_file

UNSCANNABLE = "unscannable-file"
EXPANSION = 4  # a file may decompress to at most this many times max_file_bytes in all


@dataclass(frozen=True)
class Finding:
    file: str  # as given, with any component that holds a secret redacted
    location: str
    rule: str
    fingerprint: str  # sha256 prefix of the value; for unscannable files the file's full sha256
    reason: str = ""  # unscannable files only

    def as_dict(self) -> dict[str, str]:
        d = asdict(self)
        if not self.reason:
            del d["reason"]
        return d


def iter_entries(scan_paths: list[Path]) -> Iterator[Path]:
    """Every non-directory entry under the paths (links are entries, never followed); sorted."""
    missing = [str(p) for p in scan_paths if not os.path.lexists(p)]
    if missing:  # before reading anything: a missing output is a broken pipeline, not a clean scan
        raise FileNotFoundError(f"secret-scan: path(s) to scan do not exist: {', '.join(missing)}")
    for p in scan_paths:
        p = Path(p)
        if p.is_dir() and not p.is_symlink():
            for root, dirs, files in os.walk(p):  # os.walk lists a symlink to a dir in dirs: scan it as an entry
                dirs.sort()
                for d in dirs:
                    if os.path.islink(os.path.join(root, d)):
                        yield Path(root, d)
                for f in sorted(files):
                    if not is_timings_file(Path(f)):  # untracked run timings: never published
                        yield Path(root, f)
        else:
            yield p


def display_name(path: Path) -> tuple[str, list[Finding]]:
    """(the path with every component that holds a secret replaced by its fingerprint, name findings)."""
    text = path.as_posix()
    matches = find_secrets(text)
    if not matches:
        return text, []
    parts, out, pos = text.split("/"), [], 0
    for part in parts:
        end = pos + len(part)
        hit = any(m.start < end and m.end > pos for m in matches)
        out.append(f"<name redacted {fingerprint(part)}>" if hit else part)
        pos = end + 1
    shown = "/".join(out)
    return shown, [Finding(shown, "file name", m.rule, m.fingerprint) for m in matches]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def scan_entry(path: Path, cfg: SecretScanConfig, detector: Detector | None = None) -> tuple[list[Finding], str, int]:
    """(findings, kind of entry, bytes read) for one entry; ``detector`` remembers texts across entries."""
    detector = detector or Detector()
    shown, findings = display_name(path)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = os.fsencode(os.readlink(path))
        fp = _sha256(b"symlink:" + target)
        return findings + [Finding(shown, "entry", UNSCANNABLE, fp, "symlink (not followed)")], "symlink", 0
    if not stat.S_ISREG(st.st_mode):
        fp = _sha256(b"special:" + os.fsencode(path))
        return findings + [Finding(shown, "entry", UNSCANNABLE, fp, "not a regular file")], "special", 0
    if st.st_size > cfg.max_file_bytes:
        reason = f"larger than secret_scan.max_file_bytes ({st.st_size} > {cfg.max_file_bytes})"
        return findings + [Finding(shown, "entry", UNSCANNABLE, _file_sha256(path), reason)], "too-large", 0
    try:
        data = path.read_bytes()
    except OSError as e:
        return findings + [Finding(shown, "entry", UNSCANNABLE, "", f"unreadable ({type(e).__name__})")], "error", 0
    budget = Budget(max_bytes=EXPANSION * cfg.max_file_bytes)
    problems: list[Unscannable] = []
    seen: set[tuple[str, str]] = set()
    for item in walk_bytes(data, "", budget):
        if isinstance(item, Unscannable):
            problems.append(item)
            continue
        assert isinstance(item, Segment)
        for part, m in detector.scan_parts(item.parts):
            if (m.rule, m.fingerprint) in seen:  # the same value again (e.g. raw and JSON-decoded)
                continue
            seen.add((m.rule, m.fingerprint))
            findings.append(Finding(shown, item.location(part, m.start).strip() or "content", m.rule, m.fingerprint))
    if problems:
        reasons = sorted({p.reason for p in problems})
        where = problems[0].location.strip() or "content"
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        findings.append(Finding(shown, where + more, UNSCANNABLE, _sha256(data), "; ".join(reasons)))
    return findings, _kind(data), len(data)


def _kind(data: bytes) -> str:
    for magic, kind in (
        (b"PAR1", "parquet"),
        (b"\x89PNG", "png"),
        (b"\x1f\x8b", "gzip"),
        (b"PK\x03\x04", "zip"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ", "xz"),
    ):
        if data.startswith(magic):
            return kind
    from codelewm.secrets.binary import is_safetensors

    return "safetensors" if is_safetensors(data) else "text"


def scan(cfg: SecretScanConfig, scan_paths: list[Path]) -> dict[str, Any]:
    """Scan every entry under ``scan_paths``; the redacted report (findings, allowlisted, counts)."""
    allow = set(cfg.allowlist)
    findings: list[Finding] = []
    allowed: list[Finding] = []
    kinds: Counter[str] = Counter()
    n_bytes = 0
    detector = Detector()
    for path in iter_entries(scan_paths):
        found, kind, n = scan_entry(path, cfg, detector)
        kinds[kind] += 1
        n_bytes += n
        for f in found:
            (allowed if f.fingerprint in allow else findings).append(f)
    return {
        "scan_paths": [Path(p).as_posix() for p in scan_paths],
        "n_findings": len(findings),
        "n_unscannable": sum(f.rule == UNSCANNABLE for f in findings),
        "n_allowlisted": len(allowed),
        "files_scanned": sum(kinds.values()),
        "bytes_scanned": n_bytes,
        "files_by_kind": dict(sorted(kinds.items())),
        "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        "findings": [f.as_dict() for f in findings],
        "allowlisted": [f.as_dict() for f in allowed],
        "rules": rule_names() + [UNSCANNABLE],
    }


def run_secret_scan(cfg: SecretScanConfig, scan_paths: list[Path], out_path: Path) -> int:
    """Scan, write the redacted findings JSON (the stage's metrics, ``<name>.manifest.json`` beside it),
    print one redacted line per finding; return #findings."""
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
        t0 = time.perf_counter()
        report = scan(cfg, scan_paths)
        for f in report["findings"]:  # the fingerprint identifies the finding for review/allowlisting; no value
            why = f" ({f['reason']})" if "reason" in f else ""
            print(
                f"secret-scan: {f['file']} [{f['location']}] {f['rule']}{why} fingerprint={f['fingerprint']}",
                file=sys.stderr,
            )
        st.metrics.update(report)
        secs = time.perf_counter() - t0
        st.timings["bytes_per_s"] = round(report["bytes_scanned"] / secs) if secs > 0 else None
    print(
        f"secret-scan: {report['files_scanned']} files, {report['bytes_scanned']:,} bytes in {secs:.1f}s; "
        f"{report['n_findings']} finding(s), {report['n_allowlisted']} allowlisted",
        file=sys.stderr,
    )
    return int(report["n_findings"])
