"""Abstract edit-op view: a short list of AST-diff operations between the before and after symbol.

The two trees are walked in parallel. Equal subtrees (same structural key: ``ast.dump`` without
positions, memoized) are skipped; statement and expression lists are aligned with ``difflib`` over
their keys, giving ``insert X in P.f`` /
``delete X in P.f`` / recursion into replaced pairs of the same node type. Leaves produce the concrete
ops the operators cause::

    replace Compare.ops Lt->LtE      rename Name x->y         replace Constant 1->2
    insert If in FunctionDef.body    delete Return in If.body  replace BinOp.op Add->Sub

This view deliberately hides surface text (it is what ``model.action=abstract`` trains on); literal
values are shortened so the view stays small. Ops are deduplicated in order and capped.
"""

from __future__ import annotations

import ast
import difflib

MAX_OPS = 16
_MAX_VALUE = 16


def _short(v: object) -> str:
    s = repr(v)
    return s if len(s) <= _MAX_VALUE else s[: _MAX_VALUE - 1] + "…"


def _name(n: object) -> str:
    return type(n).__name__


_SKIP = ("ctx", "type_comment", "kind")


class _Keys:
    """Node equality keys. Positioned nodes use (type, exact source bytes): equal text in the same
    syntactic role parses to an equal tree, and slicing is far cheaper than walking every subtree,
    so only nodes on the diff path are ever keyed. Nodes without positions (operators, ``arguments``,
    comprehensions) and f-strings (whose inner positions are unreliable before 3.12) use a memoized
    structural key equivalent to ``ast.dump`` without attributes."""

    def __init__(self, src: str | None):
        self.src = src.encode("utf-8", "surrogatepass") if src is not None else None
        self.starts: list[int] = []
        if self.src is not None:
            pos = 0
            for line in self.src.split(b"\n"):
                self.starts.append(pos)
                pos += len(line) + 1
        self.memo: dict[int, object] = {}

    def __call__(self, n: object) -> object:
        if isinstance(n, ast.AST):
            end = getattr(n, "end_lineno", None)
            if self.src is not None and end is not None and not isinstance(n, ast.JoinedStr):
                a = self.starts[n.lineno - 1] + n.col_offset  # type: ignore[attr-defined]
                b = self.starts[end - 1] + n.end_col_offset  # type: ignore[attr-defined]
                return (type(n).__name__, self.src[a:b])
            return self.structural(n)
        if isinstance(n, list):
            return tuple(self(x) for x in n)
        return (type(n).__name__, n)

    def structural(self, n: object) -> object:
        if isinstance(n, ast.AST):
            k = self.memo.get(id(n))
            if k is None:
                k = (type(n).__name__, *(self.structural(getattr(n, f, None)) for f in n._fields if f not in _SKIP))
                self.memo[id(n)] = k
            return k
        if isinstance(n, list):
            return tuple(self.structural(x) for x in n)
        return (type(n).__name__, n)


def _leaf_op(parent: str, field: str, a: object, b: object) -> str:
    if isinstance(a, ast.AST) and isinstance(b, ast.AST):  # operator nodes: Add, Lt, And, USub...
        return f"replace {parent}.{field} {_name(a)}->{_name(b)}"
    if parent in ("Name", "arg", "Attribute", "FunctionDef", "AsyncFunctionDef", "ClassDef", "keyword"):
        return f"rename {parent} {a}->{b}"
    if parent == "Constant":
        return f"replace Constant {_short(a)}->{_short(b)}"
    return f"replace {parent}.{field} {_short(a)}->{_short(b)}"


def _diff(a: ast.AST, b: ast.AST, out: list[str], ka: _Keys, kb: _Keys) -> None:
    if type(a) is not type(b):
        out.append(f"replace {_name(a)}->{_name(b)}")
        return
    parent = _name(a)
    for field, va in ast.iter_fields(a):
        if field in _SKIP:
            continue
        vb = getattr(b, field, None)
        if isinstance(va, list) and isinstance(vb, list):
            _diff_list(parent, field, va, vb, out, ka, kb)
        elif isinstance(va, ast.AST) and isinstance(vb, ast.AST):
            if ka(va) == kb(vb):
                continue
            if not list(ast.iter_fields(va)) and not list(ast.iter_fields(vb)):
                out.append(_leaf_op(parent, field, va, vb))
            else:
                _diff(va, vb, out, ka, kb)
        elif va is None and isinstance(vb, ast.AST):
            out.append(f"insert {_name(vb)} in {parent}.{field}")
        elif isinstance(va, ast.AST) and vb is None:
            out.append(f"delete {_name(va)} in {parent}.{field}")
        elif va != vb or type(va) is not type(vb):
            out.append(_leaf_op(parent, field, va, vb))


def _diff_list(parent: str, field: str, la: list, lb: list, out: list[str], ka: _Keys, kb: _Keys) -> None:
    da, db = [ka(x) for x in la], [kb(x) for x in lb]
    if da == db:
        return
    sm = difflib.SequenceMatcher(None, da, db, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for x, y in zip(la[i1:i2], lb[j1:j2]):
                if isinstance(x, ast.AST) and isinstance(y, ast.AST) and type(x) is type(y):
                    _diff(x, y, out, ka, kb)
                else:
                    out.append(_leaf_op(parent, field, x, y))
            continue
        for x in la[i1:i2]:
            out.append(f"delete {_name(x)} in {parent}.{field}")
        for y in lb[j1:j2]:
            out.append(f"insert {_name(y)} in {parent}.{field}")


def edit_ops(
    before: ast.AST, after: ast.AST, before_src: str | None = None, after_src: str | None = None, max_ops: int = MAX_OPS
) -> list[str]:
    """Ordered, deduplicated AST-diff ops turning ``before`` into ``after`` (empty = no AST change).

    ``before_src``/``after_src`` are the exact texts the trees were parsed from; with them, equal
    subtrees are recognized by their source bytes (fast), else structurally.
    """
    raw: list[str] = []
    _diff(before, after, raw, _Keys(before_src), _Keys(after_src))
    seen: dict[str, None] = {}
    for op in raw:
        seen.setdefault(op, None)
    return list(seen)[:max_ops]
