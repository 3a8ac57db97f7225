"""The label stage runs doctests in the sandbox: a wrong fix that passes them is not a wrong fix."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codelewm.config import LabelConfig
from codelewm.data.label import doctest_program, has_doctest, run_label
from codelewm.records import TRANSITION_SCHEMA

pytestmark = pytest.mark.sandbox

REAL = '''"""A module."""


def add(a, b):
    """Sum.

    >>> add(2, 3)
    5
    """
    return a + b


if __name__ == "__main__":
    raise SystemExit("the module's main block must not run")
'''


def _row(rid: str, family: str, before: str, after: str, key: str = "k") -> dict:
    return {
        "id": rid, "source": "synthetic", "repo": "pkg", "path": "pkg/calc.py", "symbol": "add", "license": "MIT",
        "instruction": "Fix the bug in add.", "op": "x", "family": family, "instruction_kind": "generic",
        "before_file": before, "before_index": "", "after_file": after, "before_key": key, "meta": "{}", "split": "",
    }  # fmt: skip


def test_has_doctest_and_program() -> None:
    assert has_doctest(REAL, "add") and not has_doctest(REAL, "missing")
    assert not has_doctest("def f():\n    return 1\n", "f")
    prog = doctest_program(REAL, "pkg/calc.py", "add")
    assert "'pkg.calc'" in prog and "'pkg'" in prog


def test_wrong_fixes_that_pass_are_quarantined(tmp_path: Path) -> None:
    buggy = REAL.replace("return a + b", "return a - b")
    rows = [
        _row("fix", "fix", buggy, REAL),
        _row("equivalent", "wrong_fix", buggy, REAL.replace("return a + b", "return b + a")),
        _row("wrong", "wrong_fix", buggy, REAL.replace("return a + b", "return a * b")),
        _row("edit", "edit", REAL, REAL.replace("a + b", "a + b + 0"), key="other"),  # not labelled
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=TRANSITION_SCHEMA), tmp_path / "in.parquet")
    m = run_label(LabelConfig(), tmp_path / "in.parquet", tmp_path / "out")
    assert m["in"] == 4 and m["kept"] == 3 and m["dropped"] == {"wrong_fix_passes_tests": 1}
    assert m["sandbox"]["groups_labelled"] == 1 and m["sandbox"]["bug_caught"] == 1
    kept = pq.read_table(tmp_path / "out" / "transitions.parquet").column("id").to_pylist()
    assert kept == ["fix", "wrong", "edit"]
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(r["id"], r["reason"]) for r in q] == [("equivalent", "wrong_fix_passes_tests")]


def test_a_group_whose_real_code_fails_gets_no_labels(tmp_path: Path) -> None:
    broken = REAL.replace("    5\n", "    6\n")  # the example itself is wrong
    buggy = broken.replace("return a + b", "return a - b")
    rows = [_row("fix", "fix", buggy, broken), _row("w", "wrong_fix", buggy, broken.replace("a + b", "b + a"))]
    pq.write_table(pa.Table.from_pylist(rows, schema=TRANSITION_SCHEMA), tmp_path / "in.parquet")
    m = run_label(LabelConfig(), tmp_path / "in.parquet", tmp_path / "out")
    assert m["kept"] == 2 and m["sandbox"]["doctest_fails_on_real_code"] == 1
