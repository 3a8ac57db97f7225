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
"""

from __future__ import annotations

import ast
import difflib
import functools
import itertools
from dataclasses import dataclass

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
    "index_module",
    "normalize",
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


@functools.lru_cache(maxsize=256)
def index_module(src: str) -> ModuleIndex:
    """Index top-level imports, functions, classes and (nested) class members of a module."""
    tree = parse_source(src)
    imports = tuple(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    symbols: dict[str, Symbol] = {}
    children: dict[str, tuple[str, ...]] = {}
    _index_members(tree.body, "", 0, symbols, children)
    lines = tuple(src.splitlines(keepends=True))
    offsets = tuple(itertools.accumulate((len(x) for x in lines), initial=0))
    return ModuleIndex(lines, offsets, imports, symbols, children)


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
    before_file: str, after_file: str, symbol: str, verify: bool = True
) -> tuple[ModuleIndex, ModuleIndex | None, str, str]:
    """(before index, after index or None, raw before symbol, raw after symbol).

    Fast path: if every changed character lies strictly inside the symbol's line span, the rest of the
    file is identical, so the after-symbol is the same span shifted by the length delta; it is checked
    by parsing it as exactly one def/class of the same name and trimmed to that node's last line. The
    after index is then None (context is unchanged: callers reuse the before index). Otherwise the
    after file is parsed in full. ``verify=False`` skips the check and returns the shifted span as is
    (dedup only needs the edited text for similarity, not an exact symbol boundary).
    """
    bidx = index_module(before_file)
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
