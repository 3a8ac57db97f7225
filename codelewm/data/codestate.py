"""CodeState: one primary symbol plus bounded, normalized context, found with ``ast`` (never executed).

A state is rendered as::

    <imports, one per line, via ast.unparse>
    <enclosing class headers, outermost first>
    <sibling signatures: "def name(args) -> ret: ...">
    <the primary symbol's source>

Normalization (deterministic, whitespace only): CRLF/CR -> LF, tabs expanded to 8 columns (Python's
own tab rule), block indentation rewritten to 4 spaces per AST level (:func:`reindent`, so 2-space,
tab and 4-space code look the same), trailing whitespace stripped, the symbol re-indented 4 spaces
per enclosing class, blank lines dropped. Comments and docstrings are KEPT: they are real edit targets
("add a docstring", "explain this guard") and stripping them needs ``tokenize``, which is slower and
fails on fragments. Blank lines are dropped because they cost tokens and a blank-line change is not an
edit the model should have to predict; re-indentation therefore never looks like a change.

Context priority under ``max_context_lines``: class headers (always; the symbol is indented under
them), then sibling signatures, then imports. Extract lowers the budget further when the token limit
needs it; the symbol itself is never cut.

Per-file ``ast`` parsing dominates cost, so module indexes (:mod:`codelewm.data.modindex`) and
whole-file before-states are cached by an :class:`Indexer` (siblings and symbols of one file share a
before-file), and the after-symbol is located by a checked fast path when the edit lies inside the
symbol's span (see :func:`edited_symbol_sources`). An ``Indexer`` is an explicit object, made by
whoever runs a pass (one per stage run, one per featurizer) and passed where needed; it also counts
how each index was obtained (serialized upstream, parsed here, or a serialized one rejected) for the
stages' metrics. Nothing here is module-level mutable state.
"""

from __future__ import annotations

import ast
from collections import Counter, OrderedDict
from dataclasses import dataclass

from codelewm.config import ExtractConfig
from codelewm.data.modindex import ModuleIndex, Symbol, deserialize_index, index_tree
from codelewm.data.normalize import (  # re-exported: ExtractError is part of this module's interface
    ExtractError,
    changed_line_count,
    fragment_text,
    indent_of,
    normalize,
    parse_fragment,
    parse_source,
    reindent,
)

__all__ = [
    "CodeState",
    "ExtractError",
    "Indexer",
    "build_state",
    "code_state",
    "edited_symbol_sources",
    "find_changed_symbol",
    "fragment_text",
    "normalize",
    "parse_fragment",
    "symbol_source",
]

INDEX_CACHE_SIZE = 256  # module indexes kept (LRU by source text)
STATE_CACHE_SIZE = 1024  # whole-file before-states kept (LRU by (file, symbol))
COUNT_KEYS = ("supplied", "parsed", "rejected")


def _lookup(idx: ModuleIndex, symbol: str) -> Symbol:
    sym = idx.symbols.get(symbol)
    if sym is None:
        raise ExtractError("symbol_not_found", f"{symbol!r} not defined at module or class level")
    return sym


def symbol_source(idx: ModuleIndex, symbol: str) -> str:
    """Raw (un-normalized) source lines of ``symbol``, decorators included."""
    sym = _lookup(idx, symbol)
    return "".join(idx.lines[sym.start - 1 : sym.end])


@dataclass(frozen=True)
class CodeState:
    imports: tuple[str, ...]
    headers: tuple[str, ...]
    siblings: tuple[str, ...]
    symbol: str  # normalized, indented under the headers

    def context(self, max_context_lines: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(imports, siblings) kept under the line budget: headers first, then siblings, then imports."""
        budget = max(0, max_context_lines - len(self.headers))
        sibs = self.siblings[:budget]
        return self.imports[: budget - len(sibs)], sibs

    def render(self, max_context_lines: int) -> str:
        """State text with at most ``max_context_lines`` context lines (headers always kept)."""
        imps, sibs = self.context(max_context_lines)
        return "\n".join([*imps, *self.headers, *sibs, self.symbol])

    @property
    def n_optional(self) -> int:
        return len(self.siblings) + len(self.imports)


def build_state(idx: ModuleIndex, symbol: str, raw_source: str | None = None) -> CodeState:
    """CodeState of ``symbol`` in the indexed module; ``raw_source`` overrides the symbol's text."""
    sym = _lookup(idx, symbol)
    raw = symbol_source(idx, symbol) if raw_source is None else raw_source
    chain = []
    p = sym.parent
    while p:
        chain.append(idx.symbols[p])
        p = idx.symbols[p].parent
    headers = tuple("    " * c.depth + c.header for c in reversed(chain))
    pad = "    " * sym.depth
    siblings = tuple(pad + idx.symbols[q].signature for q in idx.children.get(sym.parent, ()) if q != symbol)
    body = normalize(reindent(raw), 0)
    body = "\n".join(pad + line for line in body.split("\n")) if pad else body
    return CodeState(idx.imports, headers, siblings, body)


class Indexer:
    """Module indexes and whole-file CodeStates of one pass, cached by source text, with counts.

    ``counts``: ``supplied`` (a serialized index from ingest was used), ``parsed`` (parsed here),
    ``rejected`` (a serialized index did not match its file, so it was parsed). Cache hits count
    nothing: each distinct file is counted once per cache life.
    """

    def __init__(self, index_cache: int = INDEX_CACHE_SIZE, state_cache: int = STATE_CACHE_SIZE):
        self.counts: Counter[str] = Counter()
        self._indexes: OrderedDict[str, ModuleIndex] = OrderedDict()
        self._states: OrderedDict[tuple[str, str], CodeState] = OrderedDict()
        self._index_cache, self._state_cache = index_cache, state_cache

    def index(self, src: str, serialized: str = "") -> ModuleIndex:
        """Index of module ``src`` (see :func:`~codelewm.data.modindex.index_tree`). ``serialized`` is
        an index made upstream by ``serialize_index``; it is used instead of parsing when it matches
        ``src`` (format and sha256), otherwise ``src`` is parsed. Raises ExtractError if it does not
        parse."""
        idx = self._indexes.get(src)
        if idx is not None:
            self._indexes.move_to_end(src)
            return idx
        idx = deserialize_index(serialized, src) if serialized else None
        if idx is not None:
            self.counts["supplied"] += 1
        else:
            if serialized:
                self.counts["rejected"] += 1
            idx = index_tree(parse_source(src), src)
            self.counts["parsed"] += 1
        self._indexes[src] = idx
        if len(self._indexes) > self._index_cache:
            self._indexes.popitem(last=False)
        return idx

    def file_state(self, file_src: str, symbol: str) -> CodeState:
        """:func:`build_state` of ``symbol`` in a whole file, cached (siblings share their before-state;
        a CodeState is immutable). A failure (ExtractError) is not cached."""
        key = (file_src, symbol)
        st = self._states.get(key)
        if st is not None:
            self._states.move_to_end(key)
            return st
        st = build_state(self.index(file_src), symbol)
        self._states[key] = st
        if len(self._states) > self._state_cache:
            self._states.popitem(last=False)
        return st

    def counts_dict(self) -> dict[str, int]:
        """How module indexes were obtained so far, for a stage's metrics (every key present)."""
        return {k: self.counts[k] for k in COUNT_KEYS}


def code_state(ix: Indexer, file_src: str, symbol: str, cfg: ExtractConfig) -> str:
    """Normalized state text of ``symbol`` in ``file_src`` with context capped at max_context_lines."""
    return ix.file_state(file_src, symbol).render(cfg.max_context_lines)


def edit_within(before: str, after: str, start: int, end: int) -> bool:
    """Whether ``after`` differs from ``before`` only inside ``before[start:end]``: with ``p`` the
    length of their common prefix and the common suffix measured without overlapping it, whether
    ``start <= p < end`` and the suffix covers ``before[end:]``. Decided with a few ``startswith`` /
    ``endswith`` calls (C-level compares, one slice each) instead of measuring ``p`` and the suffix."""
    if not after.startswith(before[:start]) or after.startswith(before[:end]):  # start <= p < end
        return False
    tail = len(before) - end
    if not after.endswith(before[end:]):  # the common suffix is at least ``tail`` long...
        return False
    k = len(after) - tail  # ...and fits beside the prefix: p <= k
    return k + 1 > min(len(before), len(after)) or not after.startswith(before[: k + 1])


def edited_symbol_sources(
    ix: Indexer, before_file: str, after_file: str, symbol: str, verify: bool = True, before_index: str = ""
) -> tuple[ModuleIndex, ModuleIndex | None, str, str]:
    """(before index, after index or None, raw before symbol, raw after symbol).

    Fast path: if every changed character lies strictly inside the symbol's line span, the rest of the
    file is identical, so the after-symbol is the same span shifted by the length delta; it is checked
    by parsing it as exactly one def/class of the same name and trimmed to that node's last line. The
    after index is then None (context is unchanged: callers reuse the before index). Otherwise the
    after file is parsed in full. ``verify=False`` skips the check and returns the shifted span as is
    (dedup only needs the edited text for similarity, not an exact symbol boundary). ``before_index``:
    the row's serialized index of ``before_file``, if ingest made one (see :meth:`Indexer.index`).
    """
    bidx = ix.index(before_file, before_index)
    sym = _lookup(bidx, symbol)
    before_src = symbol_source(bidx, symbol)
    offs, end = bidx.line_offsets[sym.start - 1], bidx.line_offsets[sym.end]
    if edit_within(before_file, after_file, offs, end) and before_src.endswith("\n"):
        seg = after_file[offs : end + len(after_file) - len(before_file)]
        if not verify:
            return bidx, None, before_src, seg
        try:
            node = parse_fragment(seg)
        except ExtractError:
            node = None
        name = symbol.rsplit(".", 1)[-1]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            first = 1 if indent_of(seg) == 0 else 2  # "if 1:" wrapper shifts line numbers by one
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if start == first:
                seg_lines = seg.splitlines(keepends=True)
                return bidx, None, before_src, "".join(seg_lines[: (node.end_lineno or 1) - first + 1])
    aidx = ix.index(after_file)
    return bidx, aidx, before_src, symbol_source(aidx, symbol)


def find_changed_symbol(ix: Indexer, before_file: str, after_file: str) -> str:
    """The symbol (present before and after) whose normalized source changed most.

    Ties prefer the deeper (more specific) symbol, so a method wins over its class when all changed
    lines are inside it; then the lexicographically smallest name, for determinism.
    """
    bidx, aidx = ix.index(before_file), ix.index(after_file)
    best: tuple[int, int, str] | None = None
    for q in sorted(set(bidx.symbols) & set(aidx.symbols)):
        b, a = symbol_source(bidx, q), symbol_source(aidx, q)
        if b == a:
            continue
        nb, na = normalize(reindent(b)), normalize(reindent(a))  # same normalization as the states
        if nb == na:
            continue
        key = (changed_line_count(nb.split("\n"), na.split("\n")), bidx.symbols[q].depth, q)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        raise ExtractError("no_changed_symbol", "no function/class present before and after changed")
    return best[2]
