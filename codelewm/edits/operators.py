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
from codelewm.edits.ops_bug import _flip_bool, _swap_compare, _variable_misuse, _wrong_return
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
    "variable_misuse": _variable_misuse,
    "wrong_return": _wrong_return,
    "swap_compare": _swap_compare,
    "flip_bool": _flip_bool,
}
OPERATORS: tuple[str, ...] = tuple(_OPS)
# operators that inject a plausible bug: the bug-fix task family undoes one of them
BUG_OPS: tuple[str, ...] = (
    "off_by_one",
    "swap_operator",
    "negate_condition",
    "change_constant",
    "remove_statement",
    "swap_args",
    "variable_misuse",
    "wrong_return",
    "swap_compare",
    "flip_bool",
)
INSTRUCTION_KINDS: tuple[str, ...] = ("generic", "descriptive", "literal")


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


def fix_instruction(m: Mutation, kind: str = "literal", rng: random.Random | None = None) -> str:
    """Instruction asking to undo mutation ``m``.

    ``kind``: ``literal`` names the changed code (``x <= n`` should be ``x < n``); ``descriptive`` names
    the kind of bug and where, never the changed token; ``generic`` says only which function is wrong,
    as a user who has not found the bug writes. Without ``rng`` the phrasing is deterministic in ``m``.
    """
    if kind not in INSTRUCTION_KINDS:
        raise ValueError(f"unknown instruction kind {kind!r}; known: {', '.join(INSTRUCTION_KINDS)}")
    if kind == "descriptive" and m.op not in tmpl.DESCRIPTIVE:
        raise ValueError(f"operator {m.op!r} has no descriptive fix instruction (not a bug operator)")
    templates = {"literal": tmpl.FIX.get(m.op), "descriptive": tmpl.DESCRIPTIVE.get(m.op), "generic": tmpl.GENERIC}[
        kind
    ]
    return tmpl.render(templates, m.meta, rng or tmpl.stable_rng(kind, m.op, m.meta, m.source))
