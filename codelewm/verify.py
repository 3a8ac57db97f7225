"""Verify downloaded artifacts: every manifest under the given dirs, its chain of parents, and dvc.lock.

Checks, for each ``manifest.json`` found under a DIR (its scope: its directory tree minus nested dirs
that have their own manifest):
- files: every listed file exists with the recorded size and sha256 (``missing``, ``changed``); listed
  paths stay inside the scope (``unsafe-path``); every file in the scope is listed (``extra``), except
  files that dvc.lock verifies (below), git's ``.gitignore`` and untracked ``timings.json`` files; files
  under a DIR that no manifest covers are ``uncovered``;
- chain: ``params_hash`` is the hash of the recorded ``params``; each recorded parent manifest exists and
  has the recorded sha256, and so on up to manifests without parents (``params-hash``,
  ``parent-missing``, ``parent-changed``, ``parent-cycle``);
- anchor: when ``dvc.lock`` is found (the repo root's, or ``--lock``), every DVC output it records that
  lies in (or holds) a DIR or a manifest of the chain is hashed as DVC does (md5; a directory's
  ``.dir`` hash over all its files) and must match (``lock-mismatch``, ``lock-missing``).

Guarantee (what an attacker who can rewrite artifacts, e.g. the DVC remote, can and cannot hide): a
changed, added or removed file is caught by its manifest. Rewriting a manifest to match changes its
own sha256, which its children record: caught by the chain, unless every descendant manifest down to
the leaves is rewritten too. Leaves (manifests nobody records: the report, the models, the index) and
whole rewritten chains are caught only by dvc.lock, which records the md5 of every output, manifests
included; without dvc.lock a manifest that no checked child records is reported as ``unanchored`` (a
warning: its consistency was checked, its authenticity cannot be). Nothing here can catch an attacker
who also rewrites dvc.lock and the manifests in git: the root of trust is the git commit the lock comes
from (compare the printed dvc.lock sha256 with a trusted copy). Content is hashed every time (no
mtime-keyed cache to fool).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codelewm.config import params_hash
from codelewm.stageio import is_timings_file, sha256_file

MANIFEST = "manifest.json"
IGNORED_NAMES = frozenset({".gitignore"})  # written by DVC for git, not an artifact
REQUIRED = ("stage", "files", "parents", "params", "params_hash")


@dataclass(frozen=True)
class Problem:
    kind: str
    where: str  # manifest (or output) the problem belongs to, relative to the root when possible
    path: str  # the file concerned
    detail: str = ""


@dataclass
class Result:
    root: Path
    lock: Path | None
    lock_sha256: str = ""
    manifests: list[str] = field(default_factory=list)  # checked in full (files + chain)
    chain: list[str] = field(default_factory=list)  # ancestors checked as manifests only
    anchored: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unanchored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "root": str(self.root),
            "lock": str(self.lock) if self.lock else None,
            "lock_sha256": self.lock_sha256,
            "manifests": self.manifests,
            "chain": self.chain,
            "anchored_by_lock": self.anchored,
            "unanchored": self.unanchored,
            "problems": [p.__dict__ for p in self.problems],
        }


class VerifyUsageError(ValueError):
    """A DIR does not exist or holds no manifest (CLI exit 2)."""


def find_root(start: Path) -> Path:
    """The repo root the manifests' parent paths are relative to: nearest ancestor with dvc.yaml, else cwd."""
    for d in [start, *start.parents]:
        if (d / "dvc.yaml").is_file():
            return d
    return Path.cwd().resolve()


def _rel(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dvc_hash(path: Path) -> str:
    """DVC 3's md5 of an output: of the file, or of the sorted [{md5, relpath}] JSON of a directory."""
    if not path.is_dir():
        return _md5(path)
    entries = []
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            f = Path(dirpath, name)
            entries.append({"md5": _md5(f), "relpath": f.relative_to(path).as_posix()})
    entries.sort(key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir"


def load_lock(lock: Path) -> dict[str, str]:
    """relpath -> md5 of every stage output dvc.lock records."""
    import yaml

    data = yaml.safe_load(lock.read_text()) or {}
    outs = {}
    for stage in (data.get("stages") or {}).values():
        for o in stage.get("outs") or []:
            if isinstance(o, dict) and "path" in o and "md5" in o:
                outs[Path(o["path"]).as_posix()] = str(o["md5"])
    return outs


def discover(dirs: list[Path]) -> list[Path]:
    found: set[Path] = set()
    for d in dirs:
        if not d.exists():
            raise VerifyUsageError(f"{d}: no such file or directory")
        if d.is_file():
            if d.name != MANIFEST:
                raise VerifyUsageError(f"{d}: not a directory or a {MANIFEST}")
            found.add(d.resolve())
            continue
        here = {m.resolve() for m in d.rglob(MANIFEST) if m.is_file()}
        if not here:
            raise VerifyUsageError(f"{d}: no {MANIFEST} in it (nothing to verify against)")
        found |= here
    return sorted(found)


class _Verifier:
    def __init__(self, root: Path, lock_outs: dict[str, str] | None, result: Result):
        self.root = root
        self.lock_outs = lock_outs
        self.r = result
        self.loaded: dict[Path, dict[str, Any] | None] = {}
        self.lock_ok: dict[str, bool] = {}  # lock out -> matched
        self.recorded_by_child: set[Path] = set()
        self.chained: set[Path] = set()

    def problem(self, kind: str, where: Path | str, path: str, detail: str = "") -> None:
        w = _rel(where, self.root) if isinstance(where, Path) else where
        self.r.problems.append(Problem(kind, w, path, detail))

    def load(self, m: Path) -> dict[str, Any] | None:
        if m not in self.loaded:
            try:
                data = json.loads(m.read_text())
                bad = not isinstance(data, dict) or any(k not in data for k in REQUIRED)
                bad = bad or not isinstance(data["files"], dict) or not isinstance(data["parents"], dict)
            except (OSError, ValueError) as e:
                data, bad = None, True
                self.problem("malformed", m, _rel(m, self.root), type(e).__name__)
            else:
                if bad:
                    self.problem("malformed", m, _rel(m, self.root), f"needs {', '.join(REQUIRED)}")
            self.loaded[m] = None if bad else data
        return self.loaded[m]

    def check_lock(self, target: Path) -> bool | None:
        """Check every dvc.lock output at or above ``target``; True = one matched, None = none records it."""
        if self.lock_outs is None:
            return None
        rel = _rel(target, self.root)
        verdict: bool | None = None
        for out, md5 in self.lock_outs.items():
            if rel == out or rel.startswith(out + "/"):
                if out not in self.lock_ok:
                    p = self.root / out
                    self.lock_ok[out] = p.exists() and dvc_hash(p) == md5
                    if not p.exists():
                        self.problem("lock-missing", out, out, "dvc.lock records it; not on disk")
                    elif not self.lock_ok[out]:
                        self.problem("lock-mismatch", out, out, "content differs from dvc.lock's md5")
                verdict = self.lock_ok[out] if verdict is None else verdict and self.lock_ok[out]
        return verdict

    def files(self, m: Path, data: dict[str, Any], nested: set[Path]) -> None:
        base = m.parent
        listed: set[Path] = set()
        for key, info in data["files"].items():
            p = (base / key).resolve()
            if Path(key).is_absolute() or ".." in Path(key).parts or base not in p.parents:
                self.problem("unsafe-path", m, str(key), "outside the manifest's directory")
                continue
            listed.add(p)
            ok_info = isinstance(info, dict) and isinstance(info.get("sha256"), str)
            if not p.is_file():
                self.problem("missing", m, _rel(p, self.root))
            elif not ok_info or p.stat().st_size != info.get("bytes") or sha256_file(p) != info["sha256"]:
                self.problem("changed", m, _rel(p, self.root), "size or sha256 differs from the manifest")
        for dirpath, dirs, names in os.walk(base):
            here = Path(dirpath)
            dirs[:] = sorted(d for d in dirs if (here / d) not in nested)
            for name in sorted(names):
                p = (here / name).resolve()
                if p == m or p in listed or name in IGNORED_NAMES or is_timings_file(p):
                    continue  # timings files are run logs: never published, never in a manifest
                if self.check_lock(p):
                    continue  # unlisted by the manifest, but dvc.lock vouches for it (e.g. metrics.json)
                self.problem("extra", m, _rel(p, self.root), "in the manifest's directory, not in the manifest")

    def chain(self, m: Path, path: tuple[Path, ...] = ()) -> None:
        if m in path:
            self.problem("parent-cycle", m, _rel(m, self.root))
            return
        if m in self.chained:
            return
        self.chained.add(m)
        data = self.load(m)
        if data is None:
            return
        try:
            recomputed = params_hash(data["params"])
        except (TypeError, ValueError):
            recomputed = ""
        if recomputed != data["params_hash"]:
            self.problem("params-hash", m, _rel(m, self.root), "params_hash is not the hash of the recorded params")
        for key, sha in sorted(data["parents"].items()):
            parent = (self.root / key).resolve()
            if not parent.is_file():
                self.problem("parent-missing", m, str(key), "recorded parent manifest not found")
                continue
            if sha256_file(parent) != sha:
                self.problem("parent-changed", m, str(key), "parent manifest's sha256 differs from this record")
            else:
                self.recorded_by_child.add(parent)
            rel = _rel(parent, self.root)
            if rel not in self.r.manifests and rel not in self.r.chain:
                self.r.chain.append(rel)
            self.chain(parent, (*path, m))


def verify(dirs: list[Path], root: Path | None = None, lock: Path | None = None, use_lock: bool = True) -> Result:
    """Verify every manifest under ``dirs`` (files, chain, dvc.lock anchor); never raises on bad content."""
    manifests = discover([Path(d) for d in dirs])
    root = (root or find_root(manifests[0].parent)).resolve()
    lock_path = (lock or root / "dvc.lock") if use_lock else None
    if lock_path is not None and not lock_path.is_file():
        if lock is not None:
            raise VerifyUsageError(f"{lock}: no such lock file")
        lock_path = None
    result = Result(root=root, lock=lock_path)
    lock_outs = None
    if lock_path is not None:
        result.lock_sha256 = sha256_file(lock_path)
        lock_outs = load_lock(lock_path)
    v = _Verifier(root, lock_outs, result)
    result.manifests = [_rel(m, root) for m in manifests]
    dirs_of = {m.parent for m in manifests}
    for m in manifests:
        data = v.load(m)
        if data is not None:
            nested = {d for d in dirs_of if m.parent in d.parents}
            v.files(m, data, nested)
    for m in manifests:
        v.chain(m)
    for d in dirs:
        d = Path(d).resolve()
        if d.is_dir():
            v.check_lock(d)
            for out in lock_outs or {}:  # outputs inside a DIR are checked whole, manifest or not
                if d in (root / out).resolve().parents:
                    v.check_lock((root / out).resolve())
            _uncovered(v, d, dirs_of)
    for rel in result.manifests + result.chain:
        p = (root / rel).resolve()
        anchored = v.check_lock(p)
        if anchored:
            result.anchored.append(rel)
        elif anchored is None and p not in v.recorded_by_child:
            result.unanchored.append(rel)
    return result


def _uncovered(v: _Verifier, d: Path, dirs_of: set[Path]) -> None:
    """Files under a DIR that no manifest's directory holds."""
    for dirpath, dirs, names in os.walk(d):
        here = Path(dirpath)
        if here in dirs_of or any(m in here.parents for m in dirs_of):
            dirs[:] = []
            continue
        dirs.sort()
        for name in sorted(names):
            p = (here / name).resolve()
            if name in IGNORED_NAMES or v.check_lock(p):
                continue
            v.problem("uncovered", _rel(d, v.root), _rel(p, v.root), "no manifest covers it")
