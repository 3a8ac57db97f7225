"""Operators: parseable, different, deterministic, instructions naming the concrete edit."""

from __future__ import annotations

import ast
import random
import textwrap

import pytest

from codelewm.edits.operators import OPERATORS, Mutation, fix_instruction, mutate

FUNC = textwrap.dedent(
    '''
    def total_price(items, discount, limit):
        """Sum prices, capped."""
        total = 0
        count = len(items)
        for i in range(count):
            price = items[i] * 2
            total = total + price
        if total > limit and discount:
            total = max(total - discount, 0)
        scaled = round(total, 2)
        return scaled
    '''
).lstrip()

METHOD = textwrap.indent(FUNC, "    ")


def _parse_ok(src: str) -> None:
    ast.parse(textwrap.dedent(src))


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("src", [FUNC, METHOD], ids=["function", "method"])
def test_every_operator_applies_parses_and_differs(op: str, src: str) -> None:
    m = mutate(src, op, random.Random(1))
    assert isinstance(m, Mutation), f"{op} found no site in the fixture"
    assert m.source != src and m.op == op
    _parse_ok(m.source)
    assert m.instruction and fix_instruction(m)
    assert m.meta["symbol"] == "total_price"


@pytest.mark.parametrize("op", OPERATORS)
def test_deterministic_by_seed(op: str) -> None:
    a = [mutate(FUNC, op, random.Random(s)) for s in range(5)]
    b = [mutate(FUNC, op, random.Random(s)) for s in range(5)]
    assert a == b
    assert [fix_instruction(m) for m in a if m] == [fix_instruction(m) for m in b if m]


def test_instructions_name_the_concrete_edit() -> None:
    m = mutate(FUNC, "rename_variable", random.Random(0))
    assert m and f"`{m.meta['old']}`" in m.instruction and f"`{m.meta['new']}`" in m.instruction
    assert m.meta["new"] in m.source and m.meta["old"] not in m.source.replace(m.meta["new"], "")
    assert m.meta["old"] in fix_instruction(m) and m.meta["new"] in fix_instruction(m)
    c = mutate(FUNC, "change_constant", random.Random(0))
    assert c and c.meta["old"] in c.instruction and c.meta["new"] in c.instruction
    s = mutate(FUNC, "swap_args", random.Random(0))
    assert s and s.meta["first"] in s.instruction and s.meta["second"] in s.instruction
    g = mutate(FUNC, "add_guard", random.Random(0))
    assert g and g.meta["param"] in g.instruction and f"if {g.meta['param']}" in g.source or "if not" in g.source


def test_instructions_vary_across_seeds() -> None:
    texts = {mutate(FUNC, "wrap_try", random.Random(s)).instruction for s in range(30)}  # type: ignore[union-attr]
    assert len(texts) >= 3


def test_not_applicable_and_unknown() -> None:
    trivial = "def f():\n    pass\n"
    assert mutate(trivial, "swap_args", random.Random(0)) is None
    assert mutate(trivial, "inline_variable", random.Random(0)) is None
    assert mutate("def broken(:\n", "wrap_try", random.Random(0)) is None
    with pytest.raises(ValueError):
        mutate(FUNC, "no_such_op", random.Random(0))


def test_refactor_edits_are_minimal() -> None:
    m = mutate(FUNC, "extract_variable", random.Random(0))
    assert m and f"{m.meta['name']} = " in m.source
    # everything outside the edited statement is byte-identical (no reformatting)
    assert FUNC.splitlines()[0] == m.source.splitlines()[0]
    assert '"""Sum prices, capped."""' in m.source


def test_wrap_try_keeps_multiline_strings_intact() -> None:
    src = 'def f(x):\n    doc = """a\nb\n"""\n    return x\n'
    m = mutate(src, "wrap_try", random.Random(0))
    assert m and '"""a\nb\n"""' in m.source
    _parse_ok(m.source)
