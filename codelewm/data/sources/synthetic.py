"""Synthetic edits over real local Python code (default: the interpreter's standard library, PSF-2.0).

Walks the source trees in sorted order (tests, site-packages, idlelib, lib2to3 skipped), parses files
with ``ast`` only (never imports them), picks functions/methods of bounded size as before-states and
applies ``siblings`` different operators to each, so several edits of one before-state share a
``before_key`` (the sibling pools of the evaluation). Deterministic in ``seed``: every random choice
comes from a rng seeded by (seed, path, symbol).
"""

from __future__ import annotations

import ast
import hashlib
import math
import os
import random
import sysconfig
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codelewm.config import QualityConfig, SyntheticSourceConfig
from codelewm.data import quality
from codelewm.data.modindex import index_json
from codelewm.data.sources.base import Event, Quarantined, decode, payload_of, segment, transition
from codelewm.edits.operators import OPERATORS, mutate
from codelewm.records import stable_id

SKIP_DIRS = frozenset({"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "__pycache__",
                       "turtledemo", "_bundled"})  # fmt: skip


def default_roots() -> tuple[str, ...]:
    return (sysconfig.get_paths()["stdlib"],)


def iter_py_files(root: Path) -> Iterator[Path]:
    """``*.py`` files under ``root`` in sorted order, pruning test/vendored/tooling directories."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py") and not name.startswith("test_"):
                yield Path(dirpath) / name


def candidate_symbols(tree: ast.Module, lo: int, hi: int) -> list[tuple[str, tuple[int, int]]]:
    """Top-level functions and methods of top-level classes with lo..hi lines (decorators included)."""
    out = []
    for node in tree.body:
        subs = [(node.name, node)] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        if isinstance(node, ast.ClassDef):
            subs = [
                (f"{node.name}.{s.name}", s)
                for s in node.body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
        for qual, fn in subs:
            start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
            end = fn.end_lineno or fn.lineno
            if lo <= end - start + 1 <= hi:
                out.append((qual, (start, end)))
    return out


class SyntheticSource:
    """Iterable of synthetic transitions and quarantined files; see module docstring."""

    name = "synthetic"

    def __init__(self, cfg: SyntheticSourceConfig, qcfg: QualityConfig, seed: int):
        if cfg.siblings < 2:
            raise ValueError("ingest.synthetic.siblings must be >= 2 so sibling pools exist")
        self.cfg, self.qcfg, self.seed = cfg, qcfg, seed
        self.stats: dict[str, Any] = {"files_scanned": 0, "n_before_states": 0, "ops": Counter()}
        # spread before-states over many files (and so many repos/groups) instead of exhausting the first few
        self.per_file = math.ceil(cfg.max_before_states / max(cfg.max_files, 1)) + 1

    def __iter__(self) -> Iterator[Event]:
        roots = self.cfg.roots or default_roots()
        files = (f for r in roots for f in ((Path(r), p) for p in iter_py_files(Path(r))))
        for root, path in files:
            if self.stats["files_scanned"] >= self.cfg.max_files or self._full():
                break
            self.stats["files_scanned"] += 1
            yield from self._file_events(root, path)
        del self.stats["ops"]  # per-op counts and the siblings histogram are reported by ingest itself

    def _full(self) -> bool:
        return self.stats["n_before_states"] >= self.cfg.max_before_states

    def _file_events(self, root: Path, path: Path) -> Iterator[Event]:
        rel = path.relative_to(root).as_posix()
        repo = rel.split("/", 1)[0].removesuffix(".py")  # top-level package/module = split group
        rid = stable_id(self.name, repo, rel)
        try:
            blob = path.read_bytes()
        except OSError as e:
            yield Quarantined(rid, "unreadable_file", f"{rel}: {type(e).__name__}", b"")
            return
        if quality.file_size(len(blob), self.qcfg):
            yield Quarantined(rid, "file_too_large", f"{rel}: {len(blob)} bytes", payload_of(blob))
            return
        text, reason = decode(blob, "file")
        if text is None:
            yield Quarantined(rid, reason or "undecodable", f"{rel}: undecodable", payload_of(blob))
            return
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            yield Quarantined(rid, "invalid_python", f"{rel}: {type(e).__name__}", payload_of(blob))
            return
        lines = text.splitlines(keepends=True)
        cands = candidate_symbols(tree, self.cfg.min_symbol_lines, self.cfg.max_symbol_lines)
        random.Random(f"{self.seed}:{rel}").shuffle(cands)
        taken = 0
        index = None  # the file's serialized module index, made from this parse once a symbol is tried
        for qual, span in cands:
            if taken >= self.per_file or self._full():
                break
            if index is None:
                index = index_json(tree, text)
            events = list(self._siblings(repo, rel, qual, span, text, lines, index))
            if events:
                taken += 1
                yield from events

    def _siblings(
        self, repo: str, rel: str, qual: str, span: tuple[int, int], text: str, lines: list[str], index: str
    ) -> Iterator[Event]:
        """``siblings`` different operators on one before-state; nothing if fewer than 2 apply.
        ``index``: the before file's serialized module index (``before_index``)."""
        before_seg = segment(lines, span)
        if not before_seg.endswith("\n"):
            before_seg += "\n"  # symbol on the file's last line without newline: edit a complete line
        rng = random.Random(f"{self.seed}:{rel}:{qual}")
        # least-used operators first (rng breaks ties): always-applicable ones (wrap_try) would dominate
        used = self.stats["ops"]
        ops = sorted(OPERATORS, key=lambda op: (used[op], rng.random()))
        muts, seen = [], {before_seg}
        for op in ops:
            m = mutate(before_seg, op, rng)
            if m is not None and m.source not in seen:
                seen.add(m.source)
                muts.append(m)
                if len(muts) == self.cfg.siblings:
                    break
        if len(muts) < 2:
            return
        head, tail = "".join(lines[: span[0] - 1]), "".join(lines[span[1] :])
        before_key = stable_id(self.name, repo, rel, qual, hashlib.sha256(text.encode()).hexdigest())
        self.stats["n_before_states"] += 1
        for m in muts:
            self.stats["ops"][m.op] += 1
            yield transition(
                id=stable_id(self.name, repo, rel, qual, m.op),
                source=self.name,
                repo=repo,
                path=rel,
                symbol=qual,
                license=self.cfg.license,
                instruction=m.instruction,
                op=m.op,
                before_file=text,
                before_index=index,
                after_file=head + m.source + tail,
                before_key=before_key,
                meta={"line": span[0], "seed": self.seed, "op_meta": m.meta},
            )
