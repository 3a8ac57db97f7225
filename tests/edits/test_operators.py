"""Operators: parseable, different, deterministic, instructions naming the concrete edit."""

from __future__ import annotations

import ast
import difflib
import keyword
import random
import re
import textwrap

import pytest

from codelewm.edits import instructions
from codelewm.edits.operators import BUG_OPS, OPERATORS, Mutation, fix_instruction, mutate

FUNC = textwrap.dedent(
    '''
    def total_price(items, discount, limit, strict=False):
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


@pytest.mark.parametrize("op", BUG_OPS)
def test_bug_operators_have_fix_instructions_of_every_kind(op: str) -> None:
    m = mutate(FUNC, op, random.Random(2))
    assert m is not None and m.op == op
    assert "`" in fix_instruction(m, "literal")  # names the changed code
    words = re.compile(r"\w+|[^\w\s]+")
    changed = [ln[2:] for ln in difflib.ndiff(FUNC.splitlines(), m.source.splitlines()) if ln[:2] in ("+ ", "- ")]
    # tokens of the edited lines that could tell the fix apart (English-word keywords such as "in" or
    # "not" are ordinary words of a bug report; True/False/None are values)
    telling = {t for ln in changed for t in words.findall(ln)} - {"total_price"}
    telling -= set(keyword.kwlist) - {"True", "False", "None"}
    for text in (*instructions.DESCRIPTIVE[op], *instructions.GENERIC):
        rendered = text.format(func="total_price")
        assert "`" not in rendered and "total_price" in rendered
        assert not telling & set(words.findall(rendered)), (rendered, telling)
    assert fix_instruction(m, "generic") == fix_instruction(m, "generic")  # deterministic without a rng
    with pytest.raises(ValueError, match="unknown instruction kind"):
        fix_instruction(m, "vague")


def test_new_bug_operators_edit_what_they_say() -> None:
    src = "def f(xs, n, flag=True):\n    total = 0\n    if n == 0:\n        return None\n    return total\n"
    vm = mutate(src, "variable_misuse", random.Random(0))
    assert vm and vm.meta["old"] != vm.meta["new"] and {vm.meta["old"], vm.meta["new"]} <= {"xs", "n", "flag", "total"}
    wr = mutate(src, "wrong_return", random.Random(0))
    assert wr and "return " + wr.meta["new"] in wr.source
    sc = mutate(src, "swap_compare", random.Random(0))
    assert sc and "if n != 0:" in sc.source
    fb = mutate(src, "flip_bool", random.Random(0))
    assert fb and "flag=False" in fb.source
    assert mutate("def f(x):\n    return x\n", "variable_misuse", random.Random(0)) is None  # one local only
    assert mutate("def f(a):\n    return a in b\n", "swap_compare", random.Random(0)).source.count("not in") == 1
    assert mutate("def f(a):\n    return a not in b\n", "swap_compare", random.Random(0)).source.count(" in ") == 1
