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

Per-file ``ast`` parsing dominates cost, so module indexes are cached (siblings and symbols of one file
share a before-file), and the after-symbol is located by a checked fast path when the edit lies inside
the symbol's span (see :func:`edited_symbol_sources`).

Parse once per data path: ingest parses every before file anyway (to pick symbols, or to find the
changed ones), so it stores the file's :class:`ModuleIndex` in the row's ``before_index`` column
(:func:`serialize_index`); dedup and extract hand that to :func:`index_module`, which uses it instead
of parsing again when its format version and the sha256 of the file it was made from match, and parses
otherwise (an index is only ever a cache of ``index_tree(ast.parse(src), src)``, never trusted over the
file). :data:`INDEX_COUNTS` counts which way each index was obtained, for the stages' metrics.
"""

from __future__ import annotations

import ast
import difflib
import functools
import hashlib
import itertools
import json
from collections import Counter, OrderedDict
from dataclasses import dataclass, fields

from codelewm.config import ExtractConfig
from codelewm.data.normalize import (  # re-exported: ExtractError is part of this module's interface
    ExtractError,
    indent_of,
    parse_source,
    fragment_text,
    normalize,
    parse_fragment,
    reindent,
)

__all__ = [
    "CodeState",
    "ExtractError",
    "ModuleIndex",
    "Symbol",
    "build_state",
    "code_state",
    "edited_symbol_sources",
    "file_state",
    "find_changed_symbol",
    "fragment_text",
    "INDEX_COUNTS",
    "clear_caches",
    "index_counts_since",
    "index_module",
    "index_json",
    "index_tree",
    "normalize",
    "serialize_index",
    "parse_fragment",
    "symbol_source",
]


@dataclass(frozen=True)
class Symbol:
    qualname: str
    kind: str  # function | class
    start: int  # 1-based first line (first decorator included)
    end: int  # 1-based last line, inclusive
    depth: int  # number of enclosing classes
    parent: str  # qualname of the enclosing class, "" for module level
    signature: str  # one-line stub used when this symbol is a sibling
    header: str  # class header line ("class A(B):"), "" for functions


@dataclass(frozen=True)
class ModuleIndex:
    lines: tuple[str, ...]  # source lines with line endings
    line_offsets: tuple[int, ...]  # char offset of each line start (len(lines) + 1 entries)
    imports: tuple[str, ...]
    symbols: dict[str, Symbol]
    children: dict[str, tuple[str, ...]]  # parent qualname -> member qualnames in source order


def _signature(node: ast.AST) -> tuple[str, str]:
    if isinstance(node, ast.ClassDef):
        args = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
        header = f"class {node.name}({', '.join(args)}):" if args else f"class {node.name}:"
        return header + " ...", header
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    ret = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){ret}: ...", ""


def _index_members(
    body: list[ast.stmt], parent: str, depth: int, symbols: dict[str, Symbol], children: dict[str, tuple[str, ...]]
) -> None:
    """Record the functions/classes of ``body`` (recursing into classes). Module-level, not a recursive
    closure: that would be a reference cycle per call, and extract runs with the cyclic GC paused."""
    members = []
    for n in body:
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        q = f"{parent}.{n.name}" if parent else n.name
        start = min([n.lineno] + [d.lineno for d in n.decorator_list])
        sig, header = _signature(n)
        kind = "class" if isinstance(n, ast.ClassDef) else "function"
        symbols[q] = Symbol(q, kind, start, n.end_lineno or n.lineno, depth, parent, sig, header)
        members.append(q)
        if isinstance(n, ast.ClassDef):
            _index_members(n.body, q, depth + 1, symbols, children)
    children[parent] = tuple(members)


def _with_lines(
    src: str, imports: tuple[str, ...], symbols: dict[str, Symbol], children: dict[str, tuple[str, ...]]
) -> ModuleIndex:
    """Complete an index from its parsed part with the source lines and their offsets."""
    lines = tuple(src.splitlines(keepends=True))
    offsets = tuple(itertools.accumulate((len(x) for x in lines), initial=0))
    return ModuleIndex(lines, offsets, imports, symbols, children)


def index_tree(tree: ast.Module, src: str) -> ModuleIndex:
    """Index top-level imports, functions, classes and (nested) class members of ``src`` parsed as
    ``tree`` (``ast.parse(src)``: a caller that parsed the file already need not parse it again)."""
    symbols: dict[str, Symbol] = {}
    children: dict[str, tuple[str, ...]] = {}
    try:  # ast.unparse recurses in Python: a pathological signature can exhaust the stack
        imports = tuple(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
        _index_members(tree.body, "", 0, symbols, children)
    except (RecursionError, ValueError) as e:
        detail = f"{type(e).__name__} while indexing"
    else:
        return _with_lines(src, imports, symbols, children)
    raise ExtractError("unparsable", detail)  # outside the handler: no traceback cycle (see parse_source)


_SYMBOL_FIELDS = tuple(f.name for f in fields(Symbol))
INDEX_FORMAT = 1  # bump when ModuleIndex or Symbol changes: older serialized indexes are then re-parsed
INDEX_COUNTS: Counter[str] = Counter()  # supplied | parsed | rejected (a supplied index that did not match)
_INDEX_CACHE: OrderedDict[str, ModuleIndex] = OrderedDict()  # LRU by source text
_INDEX_CACHE_SIZE = 256


def _digest(src: str) -> str:
    return hashlib.sha256(src.encode("utf-8", "surrogatepass")).hexdigest()


def serialize_index(idx: ModuleIndex, src: str) -> str:
    """JSON form of ``idx`` (the index of ``src``) for the ``before_index`` column: format version,
    sha256 of ``src``, imports, symbols and members (as indexed: a redefined name is listed at each
    definition); lines and offsets are re-derived from the file."""
    doc = {
        "format": INDEX_FORMAT,
        "sha256": _digest(src),
        "imports": idx.imports,
        "symbols": [[getattr(s, f) for f in _SYMBOL_FIELDS] for s in idx.symbols.values()],
        "children": idx.children,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def index_json(tree: ast.Module, src: str) -> str:
    """``serialize_index(index_tree(tree, src), src)`` for a source that has parsed ``src`` as ``tree``,
    or "" when the tree cannot be indexed (then dedup and extract parse the file themselves and
    quarantine the row with their own reason)."""
    try:
        return serialize_index(index_tree(tree, src), src)
    except ExtractError:
        return ""


_SYMBOL_TYPES = (str, str, int, int, int, str, str, str)  # Symbol's field types, in order


def _deserialize_index(blob: str, src: str) -> ModuleIndex | None:
    """The index in ``blob`` if it was made by this format from exactly ``src`` and is well-formed,
    else None."""
    try:
        doc = json.loads(blob)
        if doc["format"] != INDEX_FORMAT or doc["sha256"] != _digest(src):
            return None
        rows = doc["symbols"]
        if not all(len(r) == len(_SYMBOL_TYPES) and all(map(isinstance, r, _SYMBOL_TYPES)) for r in rows):
            return None
        symbols = {r[0]: Symbol(*r) for r in rows}
        children = {p: tuple(m) for p, m in doc["children"].items()}
        imports = tuple(doc["imports"])
        if not all(isinstance(x, str) for x in (*imports, *(q for m in children.values() for q in m))):
            return None
        return _with_lines(src, imports, symbols, children)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def index_module(src: str, serialized: str = "") -> ModuleIndex:
    """Index of module ``src`` (see :func:`index_tree`), cached by source text. ``serialized`` is an
    index made upstream by :func:`serialize_index`; it is used instead of parsing when it matches
    ``src`` (format and sha256), otherwise ``src`` is parsed. Raises ExtractError if it does not parse."""
    idx = _INDEX_CACHE.get(src)
    if idx is not None:
        _INDEX_CACHE.move_to_end(src)
        return idx
    idx = _deserialize_index(serialized, src) if serialized else None
    if idx is not None:
        INDEX_COUNTS["supplied"] += 1
    else:
        if serialized:
            INDEX_COUNTS["rejected"] += 1
        idx = index_tree(parse_source(src), src)
        INDEX_COUNTS["parsed"] += 1
    _INDEX_CACHE[src] = idx
    if len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
        _INDEX_CACHE.popitem(last=False)
    return idx


def index_counts_since(snapshot: Counter[str]) -> dict[str, int]:
    """How module indexes were obtained since ``snapshot`` (a copy of :data:`INDEX_COUNTS`), for a
    stage's metrics: ``supplied`` by ingest, ``parsed`` here, ``rejected`` (supplied but not matching
    the file, so parsed). Cache hits count nothing: each distinct file is counted once per cache life."""
    return {k: INDEX_COUNTS[k] - snapshot[k] for k in ("supplied", "parsed", "rejected")}


def clear_caches() -> None:
    """Empty the module-index and before-state caches (benchmarks and tests start cold with it)."""
    _INDEX_CACHE.clear()
    file_state.cache_clear()


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


@functools.lru_cache(maxsize=1024)
def file_state(file_src: str, symbol: str) -> CodeState:
    """:func:`build_state` of ``symbol`` in a whole file, cached (siblings share their before-state;
    a CodeState is immutable)."""
    return build_state(index_module(file_src), symbol)


def code_state(file_src: str, symbol: str, cfg: ExtractConfig) -> str:
    """Normalized state text of ``symbol`` in ``file_src`` with context capped at max_context_lines."""
    return file_state(file_src, symbol).render(cfg.max_context_lines)


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
    before_file: str, after_file: str, symbol: str, verify: bool = True, before_index: str = ""
) -> tuple[ModuleIndex, ModuleIndex | None, str, str]:
    """(before index, after index or None, raw before symbol, raw after symbol).

    Fast path: if every changed character lies strictly inside the symbol's line span, the rest of the
    file is identical, so the after-symbol is the same span shifted by the length delta; it is checked
    by parsing it as exactly one def/class of the same name and trimmed to that node's last line. The
    after index is then None (context is unchanged: callers reuse the before index). Otherwise the
    after file is parsed in full. ``verify=False`` skips the check and returns the shifted span as is
    (dedup only needs the edited text for similarity, not an exact symbol boundary). ``before_index``:
    the row's serialized index of ``before_file``, if ingest made one (see :func:`index_module`).
    """
    bidx = index_module(before_file, before_index)
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
    aidx = index_module(after_file)
    return bidx, aidx, before_src, symbol_source(aidx, symbol)


def changed_line_count(a: str, b: str) -> int:
    """Lines replaced, inserted or deleted between two texts (difflib opcodes)."""
    sm = difflib.SequenceMatcher(None, a.split("\n"), b.split("\n"), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal")


def find_changed_symbol(before_file: str, after_file: str) -> str:
    """The symbol (present before and after) whose normalized source changed most.

    Ties prefer the deeper (more specific) symbol, so a method wins over its class when all changed
    lines are inside it; then the lexicographically smallest name, for determinism.
    """
    bidx, aidx = index_module(before_file), index_module(after_file)
    best: tuple[int, int, str] | None = None
    for q in sorted(set(bidx.symbols) & set(aidx.symbols)):
        b, a = symbol_source(bidx, q), symbol_source(aidx, q)
        if b == a:
            continue
        nb, na = normalize(reindent(b)), normalize(reindent(a))  # same normalization as the states
        if nb == na:
            continue
        key = (changed_line_count(nb, na), bidx.symbols[q].depth, q)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        raise ExtractError("no_changed_symbol", "no function/class present before and after changed")
    return best[2]
