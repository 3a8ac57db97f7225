"""Statement/function-level operators (refactors and behaviour edits): rename, guard, extract, inline,
remove, default argument, try/except wrapping.

Each operator takes a parsed :class:`Ctx` and a rng and returns ``(edits, meta)`` or None (no site).
"""

from __future__ import annotations

import ast
import random
from typing import Any

from codelewm.edits._edits import (
    DEFERRED_TYPES,
    FUNC_TYPES,
    SCOPE_TYPES,
    Ctx,
    Edit,
    blocks,
    is_docstring,
    short,
)

OpResult = tuple[list[Edit], dict[str, Any]] | None


def _top_funcs(ctx: Ctx) -> list[ast.AST]:
    """The symbol itself, or a class's methods: targets of whole-function operators."""
    if isinstance(ctx.node, FUNC_TYPES):
        return [ctx.node]
    return [n for n in ctx.node.body if isinstance(n, FUNC_TYPES)]  # type: ignore[attr-defined]


def _params(fn: ast.AST) -> list[ast.arg]:
    a = fn.args  # type: ignore[attr-defined]
    return [p for p in [*a.posonlyargs, *a.args, *a.kwonlyargs] if p.arg not in ("self", "cls")]


def _body_start(ctx: Ctx, fn: ast.AST) -> ast.stmt | None:
    """First statement after the docstring, if it sits on its own line (not ``def f(): x``)."""
    body = fn.body  # type: ignore[attr-defined]
    stmts = body[1:] if is_docstring(body[0]) else body
    if not stmts or stmts[0].lineno == fn.lineno or not ctx.own_lines(stmts[0]):  # type: ignore[attr-defined]
        return None
    return stmts[0]


def _rename_variable(ctx: Ctx, rng: random.Random) -> OpResult:
    declared = {n for x in ast.walk(ctx.node) if isinstance(x, (ast.Global, ast.Nonlocal)) for n in x.names}
    params = {x.arg for x in ast.walk(ctx.node) if isinstance(x, ast.arg)}
    names = [x for x in ast.walk(ctx.node) if isinstance(x, ast.Name)]
    stored = sorted({x.id for x in names if isinstance(x.ctx, ast.Store)} - declared - params)
    stored = [s for s in stored if not s.startswith("__") and not any(ctx.in_fstring(x) for x in names if x.id == s)]
    if not stored:
        return None
    old = rng.choice(stored)
    core = old.strip("_")
    choices = [f"{core}_value", f"new_{core}", f"local_{core}", f"{core}_tmp", f"the_{core}"]
    new = ctx.fresh_name(old[: len(old) - len(old.lstrip("_"))] + rng.choice(choices))
    sites = [x for x in names if x.id == old]
    return [(*ctx.span(x), new) for x in sites], {"old": old, "new": new, "func": ctx.enclosing_func(sites[0])}


def _add_guard(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for fn in _top_funcs(ctx):
        first = _body_start(ctx, fn)
        if first is not None:
            sites += [(fn, first, p.arg) for p in _params(fn)]
    if not sites:
        return None
    fn, first, param = rng.choice(sites)
    style = rng.choice(["raise_none", "return_none", "raise_empty"])
    cond, guard, cond_text, guard_verb = {
        "raise_none": (f"{param} is None", f'raise ValueError("{param} must not be None")', "None", "raise ValueError"),
        "return_none": (f"{param} is None", "return None", "None", "return None"),
        "raise_empty": (f"not {param}", f'raise ValueError("{param} must not be empty")', "empty", "raise ValueError"),
    }[style]
    guard_text = guard_verb.replace("raise ", "raises ").replace("return ", "returns ")
    ind = ctx.indent_of(first.lineno)
    unit = ind[len(ctx.indent_of(fn.lineno)) :] or "    "  # type: ignore[attr-defined]
    at = ctx.line_start(first.lineno)
    text = f"{ind}if {cond}:\n{ind}{unit}{guard}\n"
    meta = {"func": fn.name, "param": param, "cond_text": cond_text, "guard_text": guard_text, "guard_verb": guard_verb}  # type: ignore[attr-defined]
    return [(at, at, text)], meta


_BINOP_NAMES = {ast.Add: "total", ast.Sub: "difference", ast.Mult: "product", ast.Div: "ratio",
                ast.FloorDiv: "quotient", ast.Mod: "remainder"}  # fmt: skip


def _var_name_for(expr: ast.AST) -> str:
    if isinstance(expr, ast.Call):
        f = expr.func
        base = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "call"
        base = base.strip("_").lower()
        for pre in ("get_", "make_", "compute_", "build_"):
            base = base.removeprefix(pre)
        return {"len": "length", "str": "text", "int": "number", "isinstance": "is_instance"}.get(
            base, f"{base}_result"
        )
    return _BINOP_NAMES.get(type(getattr(expr, "op", None)), "value")


def _header_stmt(ctx: Ctx, expr: ast.AST) -> ast.stmt | None:
    """The statement evaluating ``expr`` exactly once, right where a new line could be inserted."""
    for a in ctx.ancestors(expr):
        if isinstance(a, (*DEFERRED_TYPES, *SCOPE_TYPES, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return None
        if isinstance(a, ast.stmt):
            if isinstance(a, (ast.Return, ast.Assign, ast.AugAssign, ast.Expr)) and ctx.own_lines(a):
                return a
            if (
                isinstance(a, ast.If)
                and ctx.line(a.lineno).lstrip().startswith("if ")
                and a.test in [expr, *ctx.ancestors(expr)]
            ):
                return a
            return None
    return None


def _extract_variable(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for n in ast.walk(ctx.node):
        if isinstance(n, (ast.Call, ast.BinOp)) and not ctx.in_fstring(n):
            stmt = _header_stmt(ctx, n)
            if stmt is None or (isinstance(stmt, (ast.Assign, ast.Expr)) and stmt.value is n):
                continue
            if any(isinstance(x, (ast.Await, ast.NamedExpr, ast.Yield, ast.YieldFrom)) for x in ast.walk(n)):
                continue
            if len(ctx.text(n)) <= 80:
                sites.append((n, stmt))
    if not sites:
        return None
    expr, stmt = rng.choice(sites)
    name = ctx.fresh_name(_var_name_for(expr))
    text = ctx.text(expr)
    rhs = f"({text})" if "\n" in text and not isinstance(expr, ast.Call) else text
    at = ctx.line_start(stmt.lineno)
    edits = [(at, at, f"{ctx.indent_of(stmt.lineno)}{name} = {rhs}\n"), (*ctx.span(expr), name)]
    return edits, {"func": ctx.enclosing_func(stmt), "expr": short(text), "name": name}


_REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)


def _remove_statement(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for block in blocks(ctx.node):
        real = [s for s in block if not is_docstring(s)]
        if len(real) >= 2:
            sites += [s for s in real if isinstance(s, _REMOVABLE) and ctx.own_lines(s)]
    if not sites:
        return None
    s = rng.choice(sites)
    a, b = ctx.line_start(s.lineno), ctx.starts[s.end_lineno - ctx.shift]  # type: ignore[operator]
    return [(a, b, "")], {"func": ctx.enclosing_func(s), "stmt": short(ctx.text(s))}


def _inline_variable(ctx: Ctx, rng: random.Random) -> OpResult:
    names = [x for x in ast.walk(ctx.node) if isinstance(x, ast.Name)]
    sites = []
    for block in blocks(ctx.node):
        for s, nxt in zip(block, block[1:]):
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                continue
            var = s.targets[0].id
            uses = [x for x in names if x.id == var]
            loads = [x for x in uses if isinstance(x.ctx, ast.Load)]
            if len(uses) != 2 or len(loads) != 1 or not ctx.own_lines(s) or ctx.in_fstring(loads[0]):
                continue
            if _header_stmt(ctx, loads[0]) is not nxt:
                continue  # the use must be evaluated once, right after the assignment
            sites.append((s, loads[0]))
    if not sites:
        return None
    s, use = rng.choice(sites)
    text = ctx.text(s.value)
    atomic = isinstance(
        s.value, (ast.Name, ast.Call, ast.Attribute, ast.Subscript, ast.Constant, ast.List, ast.Dict, ast.Tuple)
    )
    rep = text if atomic and not isinstance(s.value, ast.Tuple) else f"({text})"
    a, b = ctx.line_start(s.lineno), ctx.starts[s.end_lineno - ctx.shift]  # type: ignore[operator]
    return [(a, b, ""), (*ctx.span(use), rep)], {"func": ctx.enclosing_func(s), "name": use.id, "expr": short(text)}


def _default_for(name: str, rng: random.Random) -> str:
    low = name.lower()
    if low.startswith(("is_", "has_", "use_", "allow", "verbose", "strict", "force", "debug")):
        return "False"
    if low in ("n", "count", "size", "num", "limit", "index", "start", "offset", "level", "depth"):
        return rng.choice(["0", "1"])
    return "None"


def _add_default_arg(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = []
    for fn in _top_funcs(ctx):
        a = fn.args  # type: ignore[attr-defined]
        pos = [*a.posonlyargs, *a.args]
        required = pos[: len(pos) - len(a.defaults)]
        if required and required[-1].arg not in ("self", "cls"):
            sites.append((fn, required[-1]))
        sites += [(fn, k) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
    if not sites:
        return None
    fn, p = rng.choice(sites)
    default = _default_for(p.arg, rng)
    sep = " = " if p.annotation is not None else "="
    end = ctx.span(p)[1]
    return [(end, end, f"{sep}{default}")], {"func": fn.name, "param": p.arg, "default": default}  # type: ignore[attr-defined]


def _wrap_try(ctx: Ctx, rng: random.Random) -> OpResult:
    sites = [(fn, s) for fn in _top_funcs(ctx) if (s := _body_start(ctx, fn)) is not None]
    if not sites:
        return None
    fn, first = rng.choice(sites)
    exc = rng.choice(["Exception", "ValueError", "KeyError", "OSError", "TypeError"])
    style = rng.choice(["return", "reraise"])
    ind = ctx.indent_of(first.lineno)
    unit = ind[len(ctx.indent_of(fn.lineno)) :] or "    "  # type: ignore[attr-defined]
    inside_str = ctx.string_continuation_lines()
    edits: list[Edit] = []
    for ln in range(first.lineno, fn.end_lineno + 1):  # type: ignore[attr-defined]
        if (ln - ctx.shift) not in inside_str and ctx.line(ln).strip():
            at = ctx.line_start(ln)
            edits.append((at, at, unit))
    at = ctx.line_start(first.lineno)
    edits.append((at, at, f"{ind}try:\n"))
    handler = "return None" if style == "return" else f'raise RuntimeError("{fn.name} failed") from exc'  # type: ignore[attr-defined]
    clause = f"except {exc}:" if style == "return" else f"except {exc} as exc:"
    end = ctx.starts[fn.end_lineno - ctx.shift]  # type: ignore[attr-defined]
    tail = "" if ctx.source[:end].endswith("\n") else "\n"
    edits.append((end, end, f"{tail}{ind}{clause}\n{ind}{unit}{handler}\n"))
    verb = "return None" if style == "return" else "re-raise it as RuntimeError"
    text = "returns None" if style == "return" else "re-raises it as RuntimeError"
    return edits, {"func": fn.name, "exc": exc, "handler_text": text, "handler_verb": verb}  # type: ignore[attr-defined]
