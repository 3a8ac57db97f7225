"""Expression-level mutation operators (bug-like edits): bounds, operators, conditions, arguments, constants.

Each operator takes a parsed :class:`Ctx` and a rng and returns ``(edits, meta)`` or None (no site).
"""

from __future__ import annotations

import ast
import random
from typing import Any

from codelewm.edits._edits import Ctx, Edit, apply_edits, short

OpResult = tuple[list[Edit], dict[str, Any]] | None


_FLIP = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">"}


_OPSYM = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
          ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}  # fmt: skip


def _op_edit(ctx: Ctx, left: ast.AST, right: ast.AST, old: str, new: str) -> Edit | None:
    """Replace the single operator token between two operands (the gap holds only parens/space)."""
    a, _ = ctx.span(left)[1], None
    b = ctx.span(right)[0]
    gap = ctx.source[a:b]
    if "#" in gap or gap.count(old) != 1 or (old in ("<", ">", "/") and gap.count(old + old[0]) + gap.count(old + "=")):
        return None
    i = gap.index(old)
    return (a + i, a + i + len(old), new)


def _off_by_one(ctx: Ctx, rng: random.Random) -> OpResult:
    sites: list[tuple[list[Edit], str, str, ast.AST]] = []
    for n in ast.walk(ctx.node):
        if ctx.in_fstring(n):
            continue
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]) in _FLIP:
            e = _op_edit(ctx, n.left, n.comparators[0], _OPSYM[type(n.ops[0])], _FLIP[type(n.ops[0])])
            if e:
                sites.append(([e], ctx.text(n), "", n))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range" and n.args:
            stop = n.args[0] if len(n.args) == 1 else n.args[1]
            if not isinstance(stop, ast.Starred):
                s = ctx.text(stop)
                if (isinstance(stop, ast.BinOp) and isinstance(stop.op, (ast.Add, ast.Sub))
                        and isinstance(stop.right, ast.Constant) and stop.right.value == 1):  # fmt: skip
                    rep = ctx.text(stop.left)  # drop an existing "+ 1"/"- 1": the classic off-by-one
                else:
                    # + and - bind looser than the other arithmetic ops and associate left: no parens needed
                    arith = isinstance(stop, ast.BinOp) and not isinstance(
                        stop.op, (ast.LShift, ast.RShift, ast.BitOr, ast.BitAnd, ast.BitXor)
                    )
                    simple = arith or isinstance(stop, (ast.Name, ast.Call, ast.Attribute, ast.Subscript, ast.Constant))
                    rep = f"{s} {rng.choice(['+', '-'])} 1" if simple else f"({s}) {rng.choice(['+', '-'])} 1"
                sites.append(([(*ctx.span(stop), rep)], ctx.text(n), "range", stop))
    if not sites:
        return None
    edits, old, kind, node = rng.choice(sites)
    a, b = ctx.span(node if kind == "" else ctx.parents[node])
    new = apply_edits(ctx.source[a:b], [(s - a, e - a, r) for s, e, r in edits]) or ""
    return edits, {"func": ctx.enclosing_func(node), "old": short(old), "new": short(new)}


_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Div: ast.Mult}


def _is_stringy(n: ast.AST) -> bool:
    return isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, (str, bytes)))


def _swap_operator(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for n in ast.walk(ctx.node):
        if isinstance(n, ast.BinOp) and type(n.op) in _SWAP and not ctx.in_fstring(n):
            if _is_stringy(n.left) or _is_stringy(n.right):
                continue  # "a" - b is not a plausible edit
            old, new = _OPSYM[type(n.op)], _OPSYM[_SWAP[type(n.op)]]
            e = _op_edit(ctx, n.left, n.right, old, new)
            if e:
                sites.append((e, n, old, new))
        elif isinstance(n, ast.BoolOp) and len(n.values) == 2 and not ctx.in_fstring(n):
            old, new = ("and", "or") if isinstance(n.op, ast.And) else ("or", "and")
            e = _op_edit(ctx, n.values[0], n.values[1], f" {old} ", f" {new} ")
            if e:
                sites.append((e, n, old, new))
    if not sites:
        return None
    e, n, old, new = rng.choice(sites)
    return [e], {"func": ctx.enclosing_func(n), "old_op": old, "new_op": new, "expr": short(ctx.text(n))}


def _negate_condition(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = [n.test for n in ast.walk(ctx.node) if isinstance(n, (ast.If, ast.While, ast.IfExp))]
    sites = [t for t in sites if not ctx.in_fstring(t)]
    if not sites:
        return None
    test = rng.choice(sites)
    old = ctx.text(test)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        new = ctx.text(test.operand)
        if not isinstance(test.operand, (ast.Name, ast.Call, ast.Attribute, ast.Subscript, ast.Constant)):
            new = f"({new})"
    elif isinstance(test, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)):
        new = f"not {old}"
    else:
        new = f"not ({old})"
    return [(*ctx.span(test), new)], {"func": ctx.enclosing_func(test), "cond": short(old), "new": short(new)}


def _swap_args(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for n in ast.walk(ctx.node):
        if isinstance(n, ast.Call) and len(n.args) >= 2 and not ctx.in_fstring(n):
            pairs = [(a, b) for a, b in zip(n.args, n.args[1:]) if not isinstance(a, ast.Starred)
                     and not isinstance(b, ast.Starred) and ctx.text(a) != ctx.text(b)]  # fmt: skip
            sites += [(n, a, b) for a, b in pairs]
    if not sites:
        return None
    call, a, b = rng.choice(sites)
    ta, tb = ctx.text(a), ctx.text(b)
    callee = short(ctx.text(call.func), 40)
    meta = {"func": ctx.enclosing_func(call), "callee": callee, "first": short(ta), "second": short(tb)}
    return [(*ctx.span(a), tb), (*ctx.span(b), ta)], meta


def _new_constant(v: int | float, rng: random.Random) -> int | float:
    if isinstance(v, float):
        return rng.choice([v * 2 if v else 1.0, v / 2 if v else 0.5, v + 1.0])
    return rng.choice([v + 1, v * 2 if v else 1, v - 1 if v > 1 else v + 2, 0 if v else 2])


def _change_constant(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = [n for n in ast.walk(ctx.node) if isinstance(n, ast.Constant) and type(n.value) in (int, float)
             and not ctx.in_fstring(n) and abs(n.value) < 1e9]  # fmt: skip
    if not sites:
        return None
    n = rng.choice(sites)
    new = _new_constant(n.value, rng)
    if new == n.value:
        new = n.value + 1
    line = ctx.line(n.lineno).strip()
    return [(*ctx.span(n), repr(new))], {"func": ctx.enclosing_func(n), "old": ctx.text(n), "new": repr(new),
                                         "context": short(line)}  # fmt: skip
