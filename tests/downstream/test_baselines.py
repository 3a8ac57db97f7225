"""Rerank baselines score the expected candidates best."""

from __future__ import annotations

from codelewm.downstream.baselines import (
    changed_lines,
    copy_scorer,
    lexical_scorer,
    not_unchanged_scorer,
    random_scorer,
    word_tokens,
)

BEFORE = "def f(a, b):\n    total = a - b\n    return total\n"
PROBLEM = {
    "before": BEFORE,
    "instruction": "Fix `f`: the `-` should be `+` as in `a + b`.",
    "candidates": [
        {"code": "def f(a, b):\n    total = a + b\n    return total\n", "passed": True},
        {"code": "def f(a, b):\n    total_value = a - b\n    return total_value\n", "passed": False},
        {
            "code": (
                "def f(a, b=None):\n    if a is None:\n        raise ValueError('x')\n"
                "    total = a - b\n    return total\n"
            ),
            "passed": False,
        },
    ],
}


def test_changed_lines_only_holds_the_edit() -> None:
    text = changed_lines(BEFORE, PROBLEM["candidates"][0]["code"])
    assert "a - b" in text and "a + b" in text and "return" not in text


def test_word_tokens_split_snake_case() -> None:
    assert {"total_value", "total", "value"} <= word_tokens("total_value = 1")


def test_lexical_prefers_the_edit_the_instruction_names() -> None:
    e = lexical_scorer(PROBLEM)
    assert min(range(3), key=e.__getitem__) == 0


def test_copy_prefers_the_smallest_change() -> None:
    e = copy_scorer(PROBLEM)
    assert e[0] < e[2]


def test_random_ties_everything() -> None:
    assert random_scorer(PROBLEM) == [0.0, 0.0, 0.0]


def test_not_unchanged_ranks_every_change_above_the_unchanged_program() -> None:
    p = {**PROBLEM, "candidates": [*PROBLEM["candidates"], {"code": BEFORE, "passed": False}]}
    assert not_unchanged_scorer(p) == [0.0, 0.0, 0.0, 1.0]
