"""Module indexes: the imports, functions, classes and class members of one Python file, found with
``ast`` (never executed), and their serialized form.

Parse once per data path: ingest parses every before file anyway (to pick symbols, or to find the
changed ones), so it stores the file's :class:`ModuleIndex` in the row's ``before_index`` column
(:func:`serialize_index`); dedup and extract hand that to :meth:`codelewm.data.codestate.Indexer.index`,
which uses it instead of parsing again when its format version and the sha256 of the file it was made
from match (:func:`deserialize_index`), and parses otherwise: an index is only ever a cache of
``index_tree(ast.parse(src), src)``, never trusted over the file.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
from dataclasses import dataclass, fields

from codelewm.data.normalize import ExtractError

__all__ = [
    "INDEX_FORMAT",
    "ModuleIndex",
    "Symbol",
    "deserialize_index",
    "index_json",
    "index_tree",
    "serialize_index",
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


def deserialize_index(blob: str, src: str) -> ModuleIndex | None:
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
