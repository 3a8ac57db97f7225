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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codelewm.config import QualityConfig, SyntheticSourceConfig
from codelewm.data import quality
from codelewm.data.modindex import index_json
from codelewm.data.sources.base import Event, Quarantined, decode, payload_of, segment, transition
from codelewm.edits.operators import BUG_OPS, OPERATORS, Mutation, fix_instruction, mutate
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
        self.stats: dict[str, Any] = {"files_scanned": 0, "n_before_states": 0, "ops": Counter(), "families": Counter()}
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
        """The before-state's transitions in its task family (rng-drawn by the ``families`` shares);
        nothing if the family does. ``index``: the file's serialized module index (``before_index``)."""
        before_seg = segment(lines, span)
        if not before_seg.endswith("\n"):
            before_seg += "\n"  # symbol on the file's last line without newline: edit a complete line
        rng = random.Random(f"{self.seed}:{rel}:{qual}")
        head, tail = "".join(lines[: span[0] - 1]), "".join(lines[span[1] :])
        loc = _Loc(repo, rel, qual, span[0], head, tail)
        family = _draw(self.cfg.families, rng)
        if family == "bugfix":
            yield from self._bugfix(loc, before_seg, text, rng)
        else:
            yield from self._edits(loc, before_seg, text, index, rng)

    def _mutations(
        self, source: str, ops: tuple[str, ...], k: int, rng: random.Random, exclude: set[str]
    ) -> list[Mutation]:
        """Up to ``k`` distinct mutations of ``source`` by distinct operators, least-used operators first
        (rng breaks ties: always-applicable ones such as wrap_try would dominate otherwise)."""
        used = self.stats["ops"]
        muts, seen = [], {source, *exclude}
        for op in sorted(ops, key=lambda op: (used[op], rng.random())):
            m = mutate(source, op, rng)
            if m is not None and m.source not in seen:
                seen.add(m.source)
                muts.append(m)
                if len(muts) == k:
                    break
        return muts

    def _edits(self, loc: _Loc, before_seg: str, text: str, index: str, rng: random.Random) -> Iterator[Event]:
        """``edit`` family: ``siblings`` operators on the real code, literal forward instructions."""
        muts = self._mutations(before_seg, OPERATORS, self.cfg.siblings, rng, set())
        if len(muts) < 2:
            return
        before_key = stable_id(self.name, loc.repo, loc.rel, loc.qual, hashlib.sha256(text.encode()).hexdigest())
        self.stats["n_before_states"] += 1
        self.stats["families"]["edit"] += 1
        for m in muts:
            yield self._row(loc, m.op, m.op, "edit", "literal", m.instruction, text, index, loc.file(m.source),
                            before_key, m.meta)  # fmt: skip

    def _bugfix(self, loc: _Loc, real_seg: str, text: str, rng: random.Random) -> Iterator[Event]:
        """``bugfix`` family: one bug operator makes the buggy before-state; its transitions are the fix
        (back to the real code, with an instruction of the configured mix) and ``wrong_fixes`` other
        operator edits of the buggy state (literal forward instructions): the siblings the fix must beat,
        beside the unchanged state that the objective and the benchmarks always add."""
        bugs = self._mutations(real_seg, BUG_OPS, 1, rng, set())
        if not bugs:
            return
        bug = bugs[0]
        wrong = self._mutations(bug.source, OPERATORS, self.cfg.bugfix.wrong_fixes, rng, {real_seg})
        if not wrong:
            return
        buggy_file = loc.file(bug.source)
        try:
            buggy_index = index_json(ast.parse(buggy_file), buggy_file)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return  # cannot happen for a symbol that parses alone, but never emit an unparsable state
        kind = _draw(self.cfg.bugfix.instructions, rng)
        before_key = stable_id(self.name, loc.repo, loc.rel, loc.qual, hashlib.sha256(buggy_file.encode()).hexdigest())
        self.stats["n_before_states"] += 1
        self.stats["families"]["bugfix"] += 1
        self.stats["ops"][bug.op] += 1
        meta = {"bug_op": bug.op, "bug_meta": bug.meta}
        yield self._row(loc, f"fix:{bug.op}", f"fix_{bug.op}", "fix", kind, fix_instruction(bug, kind, rng),
                        buggy_file, buggy_index, text, before_key, meta)  # fmt: skip
        for m in wrong:
            yield self._row(loc, f"wrong:{bug.op}:{m.op}", m.op, "wrong_fix", "literal", m.instruction, buggy_file,
                            buggy_index, loc.file(m.source), before_key, {**meta, "op_meta": m.meta})  # fmt: skip

    def _row(
        self, loc: _Loc, tag: str, op: str, family: str, kind: str, instruction: str, before_file: str,
        before_index: str, after_file: str, before_key: str, op_meta: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        if family != "fix":
            self.stats["ops"][op] += 1
        return transition(
            id=stable_id(self.name, loc.repo, loc.rel, loc.qual, tag),
            source=self.name,
            repo=loc.repo,
            path=loc.rel,
            symbol=loc.qual,
            license=self.cfg.license,
            instruction=instruction,
            op=op,
            family=family,
            instruction_kind=kind,
            before_file=before_file,
            before_index=before_index,
            after_file=after_file,
            before_key=before_key,
            meta={"line": loc.line, "seed": self.seed, "op_meta": op_meta},
        )


@dataclass(frozen=True)
class _Loc:
    """Where a before-state sits: its file split around the symbol's lines."""

    repo: str
    rel: str
    qual: str
    line: int
    head: str
    tail: str

    def file(self, symbol_source: str) -> str:
        return self.head + symbol_source + self.tail


def _draw(shares: dict[str, float], rng: random.Random) -> str:
    """A key drawn with probability proportional to its share (keys in sorted order: deterministic)."""
    keys = sorted(k for k, v in shares.items() if v > 0)
    return rng.choices(keys, weights=[shares[k] for k in keys])[0]
