"""The stage scaffold every pipeline stage runs in, and its bookkeeping: funnel, quarantine, manifests.

A stage function does its work inside ``with Stage(...) as st:`` (:class:`Stage`). The scaffold owns:

- the funnel (``st.funnel``: ``in``, ``kept``, ``dropped`` per reason; ``in == kept + sum(dropped)``
  is enforced when metrics are written) and the quarantine writer counted in it (``st.quarantine()``);
- staged outputs: ``st.output(name)`` hands out a path in a staging directory beside the stage
  directory; at the end every output is renamed into place, so a killed or failed stage never leaves a
  half-written output (and a failed one leaves the previous outputs as they were);
- ``metrics.json`` (DVC-tracked: the funnel plus ``st.metrics``, deterministic for given inputs) and
  ``timings.json`` (``st.timings``: seconds and rows/s, ignored by DVC and git, so a rerun on identical
  inputs changes nothing a later stage depends on);
- ``manifest.json``, one format everywhere: sha256 and size of every output file, **the metrics file
  included** (timings never), the parent manifests' hashes (``parents``: the stage's inputs, each mapped
  to the manifest describing it by :func:`parent_manifest`), the params used with their hash, and the
  code version. The manifest is renamed last.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from codelewm.config import params_hash, to_dict
from codelewm.records import QUARANTINE_SCHEMA
from codelewm.rowio import RecordWriter

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = "manifest.json"


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
        self._out.close()  # always writes the file (empty when nothing was dropped) so DVC outs exist; idempotent

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


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, indent 2, trailing newline), written via a temp file + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")
    os.replace(tmp, path)


def is_timings_file(path: Path) -> bool:
    """Whether ``path`` is a stage's untracked timings file (``timings.json``, ``<name>.timings.json``)."""
    return Path(path).name == "timings.json" or Path(path).name.endswith(".timings.json")


def parent_manifest(path: Path) -> Path | None:
    """The manifest describing an input: the one inside a stage directory (``data/shards``), else the
    one beside a file or sub-directory (``data/dedup/transitions.parquet``, ``data/shards/test``,
    ``models/main``); None for inputs no stage wrote."""
    p = Path(path)
    for cand in ([p / MANIFEST] if p.is_dir() else []) + [p.parent / MANIFEST]:
        if cand.is_file():
            return cand
    return None


def _files(pairs: Iterable[tuple[Path, Path]], base: Path) -> dict[str, dict[str, Any]]:
    """Manifest entries {path relative to ``base``: sha256, bytes} of (written path, final path) pairs;
    directories are listed file by file."""
    out: dict[str, dict[str, Any]] = {}
    for written, final in pairs:
        if written.is_dir():
            subs = sorted(p for p in written.rglob("*") if p.is_file() and p.name != MANIFEST)
            items = [(p, final / p.relative_to(written)) for p in subs]
        elif written.exists():
            items = [(written, final)]
        else:
            raise FileNotFoundError(f"declared output missing: {final}")
        for w, f in items:
            key = Path(os.path.relpath(f.resolve(), base.resolve())).as_posix()
            out[key] = {"sha256": sha256_file(w), "bytes": w.stat().st_size}
    return dict(sorted(out.items()))


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


def _replace(src: Path, dst: Path) -> None:
    """Rename ``src`` onto ``dst`` (a directory is swapped whole: no stale file of an earlier run stays)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() and dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


class Stage:
    """One run of one pipeline stage, as a context manager (see the module docstring)::

        with Stage("dedup", out_dir, params={"dedup": cfg}, parents=[input_path]) as st:
            quarantine = st.quarantine()               # counted in st.funnel
            path = st.output("transitions.parquet")    # write here; renamed to out_dir/... at the end
            st.funnel.keep()
            st.metrics["per_split"] = {...}            # beside the funnel in metrics.json
            st.timings["featurize_seconds"] = 1.2      # into timings.json (not tracked)
        return st.result                               # the metrics written

    Paths: a ``str`` is a name inside ``out_dir``, a ``Path`` is taken as given (outputs of one stage
    may live in several places: train's models and ``metrics/train.json``). ``metrics``, ``manifest``
    and ``timings`` name the bookkeeping files (``metrics=None``: no metrics file); ``funnel=False`` for
    stages whose metrics are not a row funnel (train, report, secret-scan). ``adopt`` lists an output
    the stage writes atomically itself (resumable checkpoints).
    """

    def __init__(
        self,
        name: str,
        out_dir: Path,
        params: Mapping[str, Any] | None = None,
        parents: Iterable[Path] = (),
        *,
        metrics: str | Path | None = "metrics.json",
        manifest: str | Path = MANIFEST,
        timings: str | Path = "timings.json",
        funnel: bool = True,
    ):
        self.name = name
        self.out_dir = Path(out_dir)
        self.params = dict(params or {})
        self.parents = sorted({m for m in map(parent_manifest, parents) if m is not None})
        self.metrics_path = None if metrics is None else self._where(metrics)
        self.manifest_path = self._where(manifest)
        self.timings_path = self._where(timings)
        self.funnel = Funnel(name)
        self.use_funnel = funnel
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.result: dict[str, Any] = {}
        self.staging = self.out_dir.parent / f".{self.out_dir.name}.stage-tmp"
        self._outputs: dict[Path, Path] = {}  # final path -> staged path (or itself when adopted)
        self._writers: list[QuarantineWriter] = []
        self._t0 = 0.0

    def _where(self, target: str | Path) -> Path:
        return target if isinstance(target, Path) else self.out_dir / target

    def __enter__(self) -> Stage:
        shutil.rmtree(self.staging, ignore_errors=True)  # leftovers of a killed run
        self.staging.mkdir(parents=True)
        self._t0 = time.perf_counter()
        return self

    def _staged(self, final: Path) -> Path:
        try:
            rel = final.resolve().relative_to(self.out_dir.resolve())
        except ValueError:
            rel = Path("_elsewhere", str(len(self._outputs)), final.name)
        return self.staging / rel

    def output(self, target: str | Path) -> Path:
        """Staged path for an output (a file, or a directory the stage creates there)."""
        final = self._where(target)
        staged = self._outputs.get(final) or self._staged(final)
        staged.parent.mkdir(parents=True, exist_ok=True)
        self._outputs[final] = staged
        return staged

    def adopt(self, path: Path) -> None:
        """List an output the stage has written in place (atomically, by itself) in the manifest."""
        self._outputs[Path(path)] = Path(path)

    def scratch(self, name: str) -> Path:
        """A temporary file in the staging directory, removed with it (never an output)."""
        return self.staging / "_scratch" / name

    def quarantine(self, name: str = "quarantine.parquet") -> QuarantineWriter:
        """The stage's quarantine writer (an output; rows counted as dropped in ``funnel``)."""
        w = QuarantineWriter(self.output(name), self.name, self.funnel)
        self._writers.append(w)
        return w

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _commit(self) -> None:
        for w in self._writers:
            w.close()
        seconds = time.perf_counter() - self._t0
        self.timings.setdefault("seconds", round(seconds, 3))
        if self.use_funnel and seconds > 0:
            self.timings.setdefault("rows_per_s", round(self.funnel.n_in / seconds, 1))
        files = [(staged, final) for final, staged in self._outputs.items()]
        if self.metrics_path is not None:
            self.result = {**self.funnel.as_dict(), **self.metrics} if self.use_funnel else dict(self.metrics)
            staged = self._staged(self.metrics_path)
            write_json(staged, self.result)
            files.append((staged, self.metrics_path))
        manifest = {
            "stage": self.name,
            "files": _files(files, self.manifest_path.parent),
            "parents": {p.as_posix(): sha256_file(p) for p in self.parents},
            "params": to_dict(self.params),
            "params_hash": params_hash(self.params),
            "code_version": code_version(),
        }
        staged_manifest = self._staged(self.manifest_path)
        write_json(staged_manifest, manifest)
        for staged, final in files:
            if staged != final:
                _replace(staged, final)
        write_json(self.timings_path, {"stage": self.name, **self.timings})
        _replace(staged_manifest, self.manifest_path)
