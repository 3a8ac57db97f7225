"""Bug-injection operators beyond the expression edits of :mod:`ops_expr`: variable misuse, wrong return
value, a flipped comparison and a flipped boolean literal.

Each operator takes a parsed :class:`Ctx` and a rng and returns ``(edits, meta)`` or None (no site).
Like every operator they splice a minimal text edit; nothing is executed. They model the single-token
bugs of real code (variable misuse is the classic learned-bug-detection task; wrong comparisons and
literals are the most common one-token fixes in commit histories).
"""

from __future__ import annotations

import ast
import random
from typing import Any

from codelewm.edits._edits import FUNC_TYPES, Ctx, Edit, short
from codelewm.edits.ops_expr import _OPSYM, _op_edit

OpResult = tuple[list[Edit], dict[str, Any]] | None

# comparison -> its "wrong" twin; off_by_one already covers < <-> <= and > <-> >=
_FLIP_COMPARE = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Lt: ast.Gt,
    ast.Gt: ast.Lt,
    ast.LtE: ast.GtE,
    ast.GtE: ast.LtE,
}


def _local_names(ctx: Ctx, fn: ast.AST) -> list[str]:
    """Parameters and assigned names of one function (not ``self``/``cls``), sorted: misuse candidates."""
    args = fn.args if isinstance(fn, FUNC_TYPES) else None  # type: ignore[attr-defined]
    names = {a.arg for a in ast.walk(args) if isinstance(a, ast.arg)} if args else set()
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
    return sorted(names - {"self", "cls", "_"})


def _variable_misuse(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for fn in ctx.functions():
        local = _local_names(ctx, fn)
        if len(local) < 2:
            continue
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in local and not ctx.in_fstring(n):
                if ctx.enclosing_func(n) == fn.name:  # type: ignore[attr-defined]
                    sites.append((fn, n, [x for x in local if x != n.id]))
    if not sites:
        return None
    fn, node, others = rng.choice(sites)
    new = rng.choice(others)
    line = short(ctx.line(node.lineno).strip())
    return [(*ctx.span(node), new)], {"func": fn.name, "old": node.id, "new": new, "context": line}  # type: ignore[attr-defined]


def _wrong_return(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for fn in ctx.functions():
        local = _local_names(ctx, fn)
        for n in ast.walk(fn):
            if not isinstance(n, ast.Return) or n.value is None or ctx.in_fstring(n.value):
                continue
            if ctx.enclosing_func(n) != fn.name:  # type: ignore[attr-defined]
                continue
            old = ctx.text(n.value)
            choices = [x for x in local if x != old]
            if not (isinstance(n.value, ast.Constant) and n.value.value is None):
                choices.append("None")
            if choices and "\n" not in old:
                sites.append((fn, n.value, choices))
    if not sites:
        return None
    fn, value, choices = rng.choice(sites)
    new = rng.choice(choices)
    return [(*ctx.span(value), new)], {"func": fn.name, "old": short(ctx.text(value)), "new": new}  # type: ignore[attr-defined]


def _swap_compare(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for n in ast.walk(ctx.node):
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]) in _FLIP_COMPARE:
            if ctx.in_fstring(n):
                continue
            old, new = _OPSYM[type(n.ops[0])], _OPSYM[_FLIP_COMPARE[type(n.ops[0])]]
            if old in ("is", "in") and ctx.source[ctx.span(n.left)[1] : ctx.span(n.comparators[0])[0]].count("not"):
                continue
            e = _op_edit(ctx, n.left, n.comparators[0], old, new)
            if e:
                sites.append((e, n, old, new))
    if not sites:
        return None
    e, n, old, new = rng.choice(sites)
    return [e], {"func": ctx.enclosing_func(n), "old_op": old, "new_op": new, "expr": short(ctx.text(n))}


def _flip_bool(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = [
        n
        for n in ast.walk(ctx.node)
        if isinstance(n, ast.Constant) and isinstance(n.value, bool) and not ctx.in_fstring(n)
    ]
    if not sites:
        return None
    n = rng.choice(sites)
    new = "False" if n.value else "True"
    line = short(ctx.line(n.lineno).strip())
    return [(*ctx.span(n), new)], {"func": ctx.enclosing_func(n), "old": ctx.text(n), "new": new, "context": line}
