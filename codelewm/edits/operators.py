"""Deterministic mutation/refactor operators over one function or class source.

``mutate(source, op, rng)`` locates candidate sites with ``ast`` (never executing anything), picks one
with ``rng``, splices a minimal text edit into the original source, checks the result still parses and
differs, and returns a :class:`Mutation` with a natural-language instruction naming the concrete
identifiers/values. ``None`` means the operator has no site in this source. ``fix_instruction`` phrases
the inverse edit (used to build repair problems downstream).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codelewm.edits import instructions as tmpl
from codelewm.edits._edits import Ctx, Edit, apply_edits, parse_symbol
from codelewm.edits.ops_expr import (
    _change_constant,
    _negate_condition,
    _off_by_one,
    _swap_args,
    _swap_operator,
)
from codelewm.edits.ops_stmt import (
    _add_default_arg,
    _add_guard,
    _extract_variable,
    _inline_variable,
    _remove_statement,
    _rename_variable,
    _wrap_try,
)

OpResult = tuple[list[Edit], dict[str, Any]] | None


@dataclass(frozen=True)
class Mutation:
    source: str  # the mutated function/class source
    instruction: str  # natural-language instruction that turns the input into ``source``
    op: str
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-able: names/values of the edit


_OPS: dict[str, Callable[[Ctx, random.Random], OpResult]] = {
    "rename_variable": _rename_variable,
    "add_guard": _add_guard,
    "off_by_one": _off_by_one,
    "swap_operator": _swap_operator,
    "negate_condition": _negate_condition,
    "extract_variable": _extract_variable,
    "swap_args": _swap_args,
    "change_constant": _change_constant,
    "remove_statement": _remove_statement,
    "inline_variable": _inline_variable,
    "add_default_arg": _add_default_arg,
    "wrap_try": _wrap_try,
}
OPERATORS: tuple[str, ...] = tuple(_OPS)


def mutate(source: str, op: str, rng: random.Random) -> Mutation | None:
    """Apply operator ``op`` at an rng-chosen site of one function/class source; None if no site."""
    if op not in _OPS:
        raise ValueError(f"unknown operator {op!r}; known: {', '.join(OPERATORS)}")
    parsed = parse_symbol(source)
    if parsed is None:
        return None
    ctx = Ctx(source, parsed[0], parsed[1])
    res = _OPS[op](ctx, rng)
    if res is None:
        return None
    edits, meta = res
    out = apply_edits(source, edits)
    if out is None or out == source or parse_symbol(out) is None:
        return None  # an edit that would break the code is dropped, never emitted
    meta = {**meta, "symbol": getattr(ctx.node, "name", "")}
    return Mutation(out, tmpl.render(tmpl.FORWARD[op], meta, rng), op, meta)


def fix_instruction(m: Mutation) -> str:
    """Instruction asking to undo mutation ``m`` (deterministic in ``m``; names the same values)."""
    return tmpl.render(tmpl.FIX[m.op], m.meta, tmpl.stable_rng(m.op, m.meta, m.source))
