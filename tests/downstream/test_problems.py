"""HumanEval loading and entry-point splicing (pure text; nothing is executed)."""

from __future__ import annotations

import pytest

from codelewm.downstream.problems import ProblemError, harness_program, load_tasks, split_program

PROGRAM = (
    "import math\n\n\ndef helper(x):\n    return x\n\n\n"
    "@staticmethod\ndef target(a):\n    return helper(a) + 1\n\nTAIL = 1\n"
)


def test_split_and_splice_roundtrip() -> None:
    sp = split_program(PROGRAM, "target")
    assert sp.function.startswith("@staticmethod\ndef target(a):")
    assert "def helper" in sp.prefix and "TAIL = 1" in sp.suffix
    assert sp.splice(sp.function) == PROGRAM
    assert "return helper(a) - 1" in sp.splice(sp.function.replace("+", "-"))


def test_missing_entry_point_has_reason() -> None:
    with pytest.raises(ProblemError) as e:
        split_program(PROGRAM, "absent")
    assert e.value.reason == "no_entry_point_function"
    with pytest.raises(ProblemError) as e:
        split_program("def (:\n", "x")
    assert e.value.reason == "unparseable_program"


def test_harness_program_calls_check() -> None:
    prog = harness_program("def f():\n    return 1\n", "def check(candidate):\n    assert candidate() == 1\n", "f")
    assert prog.rstrip().endswith("check(f)")
    compile(prog, "t", "exec")  # valid Python, never executed here


def test_humaneval_ships_and_every_task_splits() -> None:
    tasks = load_tasks()
    assert len(tasks) == 164
    for t in tasks:
        sp = split_program(t.program, t.entry_point)
        assert sp.splice(sp.function).rstrip("\n") == t.program.rstrip("\n")
