"""CodeState extraction: symbol lookup, bounded context, normalization, changed-symbol detection."""

from __future__ import annotations

import ast
import random
import re

import pytest

from codelewm.config import ExtractConfig
from codelewm.data import codestate
from codelewm.data.codestate import (
    ExtractError,
    Indexer,
    build_state,
    code_state,
    edit_within,
    edited_symbol_sources,
    find_changed_symbol,
    normalize,
)
from codelewm.data.modindex import ModuleIndex, index_json, index_tree
from tests.data.datafixtures import MODULE

CFG = ExtractConfig()


def test_function_state_has_imports_siblings_and_body() -> None:
    s = code_state(Indexer(), MODULE, "clamp", CFG)
    lines = s.split("\n")
    assert lines[0] == "import os" and lines[1] == "from collections import OrderedDict as OD"
    assert "def total(items): ..." in lines and "class Cache(dict): ..." in lines
    assert "def clamp(value, low, high):" in lines and "    return value" in lines
    assert "result = 0" not in s  # sibling bodies are not included


def test_method_state_is_indented_under_class_header() -> None:
    s = code_state(Indexer(), MODULE, "Cache.put", CFG)
    assert "class Cache(dict):\n    def get_item(self, key, default=None): ...\n    def put(self, key, value):" in s
    assert s.endswith("        self[key] = value")


def test_context_cap_keeps_headers_then_siblings() -> None:
    s = code_state(Indexer(), MODULE, "Cache.put", ExtractConfig(max_context_lines=2))
    assert s.split("\n")[:3] == [
        "class Cache(dict):",
        "    def get_item(self, key, default=None): ...",
        "    def put(self, key, value):",
    ]
    assert "import os" not in s


def test_normalization_is_whitespace_only_and_deterministic() -> None:
    tabbed = (
        "class A:\r\n\tdef f(self):   \r\n\t\tif x:  # keep me\r\n\r\n\r\n"
        "\t\t\treturn g(1,\r\n\t\t\t         2)\r\n\t\telse:\n\t\t\tpass\n"
    )
    two = (
        "class A:\n  def f(self):\n    if x:  # keep me\n      return g(1,\n               2)\n    else:\n      pass\n"
    )
    four = (
        "class A:\n    def f(self):\n        if x:  # keep me\n"
        "            return g(1,\n                     2)\n        else:\n            pass\n"
    )
    assert (
        code_state(Indexer(), tabbed, "A.f", CFG)
        == code_state(Indexer(), two, "A.f", CFG)
        == code_state(Indexer(), four, "A.f", CFG)
    )
    assert code_state(Indexer(), four, "A.f", CFG).endswith(four.split("\n", 1)[1].rstrip())
    assert normalize("    a\n\n      b  \n", 4) == "a\n  b"


def test_multiline_string_at_column_zero_in_method() -> None:
    src = 'class A:\n    def f(self):\n        s = """\nraw\n"""\n        return s\n'
    b, _a, before, after = edited_symbol_sources(Indexer(), src, src.replace("return s", "return s.strip()"), "A.f")
    assert "s.strip()" in after and before.startswith("    def f")


def test_errors_carry_reasons() -> None:
    with pytest.raises(ExtractError) as e:
        code_state(Indexer(), MODULE, "nope", CFG)
    assert e.value.reason == "symbol_not_found"
    with pytest.raises(ExtractError) as e:
        Indexer().index("def broken(:\n")
    assert e.value.reason == "unparsable"


def test_find_changed_symbol_prefers_specific_symbol() -> None:
    after = MODULE.replace("self[key] = value", "self[key] = value * 2")
    assert find_changed_symbol(Indexer(), MODULE, after) == "Cache.put"
    after2 = MODULE.replace("result = 0", "result = 10").replace("result += item", "result += 2 * item")
    assert find_changed_symbol(Indexer(), MODULE, after2) == "total"
    with pytest.raises(ExtractError) as e:
        find_changed_symbol(Indexer(), MODULE, MODULE.replace("import os", "import sys"))
    assert e.value.reason == "no_changed_symbol"


def test_find_changed_symbol_ignores_reformatting() -> None:
    after = MODULE.replace("if value < low:", "if value < low:   ").replace("result = 0", "result = 1")
    assert find_changed_symbol(Indexer(), MODULE, after) == "total"


@pytest.mark.parametrize(
    "old,new",
    [
        ("    return value\n", "    return value\n    # trailing comment\n"),  # text after last stmt
        ("    return value\n", "    pass\nvalue = 0\n"),  # last line moved out of the function
        ("def clamp(value, low, high):", "@staticmethod\ndef clamp(value, low, high):"),
        ("if value < low:", "if value <= low:"),
    ],
)
def test_fast_path_matches_full_parse(old: str, new: str) -> None:
    after = MODULE.replace(old, new, 1)
    bidx, aidx, _b, fast = edited_symbol_sources(Indexer(), MODULE, after, "clamp")
    full_idx = Indexer().index(after)
    sym = full_idx.symbols["clamp"]
    assert fast == "".join(full_idx.lines[sym.start - 1 : sym.end])


def _edit_within_reference(before: str, after: str, start: int, end: int) -> bool:
    """The definition, measured character by character."""
    p = 0
    while p < min(len(before), len(after)) and before[p] == after[p]:
        p += 1
    q, limit = 0, min(len(before), len(after)) - p
    while q < limit and before[-1 - q] == after[-1 - q]:
        q += 1
    return start <= p < end and len(before) - q <= end


def test_edit_within_matches_its_definition() -> None:
    rng = random.Random(0)
    checked = {True: 0, False: 0}
    for _ in range(4000):
        before = "".join(rng.choice("ab\n") for _ in range(rng.randint(0, 12)))
        i = rng.randint(0, len(before))
        j = rng.randint(i, len(before))
        after = before[:i] + "".join(rng.choice("ab\n") for _ in range(rng.randint(0, 4))) + before[j:]
        start = rng.randint(0, len(before))
        end = rng.randint(start, len(before))
        want = _edit_within_reference(before, after, start, end)
        assert edit_within(before, after, start, end) == want, (before, after, start, end)
        checked[want] += 1
    assert min(checked.values()) > 200  # both outcomes exercised


def test_file_state_is_the_cached_build_state() -> None:
    ix = Indexer()
    s = ix.file_state(MODULE, "Cache.get_item")
    assert s == build_state(ix.index(MODULE), "Cache.get_item")
    assert ix.file_state(MODULE, "Cache.get_item") is s  # siblings share one immutable before-state
    with pytest.raises(ExtractError):
        ix.file_state(MODULE, "nope")


def test_indexer_caches_are_bounded_lrus() -> None:
    ix = Indexer(index_cache=2, state_cache=2)
    srcs = [f"def f{i}():\n    return {i}\n" for i in range(3)]
    for src in srcs:
        ix.index(src)
    ix.index(srcs[0])  # evicted by the third: parsed again
    assert ix.counts_dict() == {"supplied": 0, "parsed": 4, "rejected": 0}
    ix.index(srcs[0])  # a hit counts nothing
    assert ix.counts["parsed"] == 4
    assert Indexer().counts_dict() == {"supplied": 0, "parsed": 0, "rejected": 0}  # no state shared


REDEFINED = """import os


class A:
    def m(self):
        return 1

    class Inner:
        def deep(self, x: int = 2) -> int:
            return x

    def m(self):  # redefinition: the last one wins, both are listed as members
        return 2


def f():
    pass


def f():
    return 3
"""


def _fresh_index(src: str) -> ModuleIndex:
    return index_tree(ast.parse(src), src)


@pytest.mark.parametrize("src", [MODULE, REDEFINED])
def test_serialized_index_round_trips(src: str) -> None:
    ix = Indexer()
    blob = index_json(ast.parse(src), src)
    idx = ix.index(src, blob)
    assert idx == _fresh_index(src)
    assert ix.counts_dict() == {"supplied": 1, "parsed": 0, "rejected": 0}
    assert ix.index(src, blob) is idx  # cached: counted once
    assert ix.counts_dict()["supplied"] == 1


def test_supplied_index_is_used_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    blob = index_json(ast.parse(REDEFINED), REDEFINED)

    def no_parse(src: str) -> ast.Module:
        raise AssertionError("parsed although a matching index was supplied")

    monkeypatch.setattr(codestate, "parse_source", no_parse)
    state = build_state(Indexer().index(REDEFINED, blob), "A.Inner.deep")
    assert state.headers == ("class A:", "    class Inner:")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda blob, src: (blob, src + "\n# edited after indexing\n"),  # sha256 no longer matches
        lambda blob, src: (blob.replace('"format":1', '"format":0'), src),  # older format
        lambda blob, src: (blob[: len(blob) // 2], src),  # truncated JSON
        lambda blob, src: (blob.replace('"symbols":[[', '"symbols":[[7,'), src),  # wrong shape
        lambda blob, src: (re.sub(r'"class",(\d+),', r'"class","\1",', blob, count=1), src),  # wrong type
        lambda blob, src: (blob.replace('"children":{', '"children":[{', 1)[:-1] + "]}", src),  # not a dict
        lambda blob, src: ("[1, 2]", src),  # not an index at all
    ],
)
def test_mismatched_index_is_rejected_and_the_file_parsed(mutate) -> None:
    blob, src = mutate(index_json(ast.parse(REDEFINED), REDEFINED), REDEFINED)
    ix = Indexer()
    assert ix.index(src, blob) == _fresh_index(src)
    assert ix.counts_dict() == {"supplied": 0, "parsed": 1, "rejected": 1}


def test_index_json_of_an_unindexable_tree_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    def deep(*_a: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(codestate.ast, "unparse", deep)
    assert index_json(ast.parse(MODULE), MODULE) == ""
    with pytest.raises(ExtractError) as e:
        index_tree(ast.parse(MODULE), MODULE)
    assert e.value.reason == "unparsable"
