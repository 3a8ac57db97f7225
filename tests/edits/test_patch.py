import difflib

import pytest

from codelewm.edits.patch import PatchError, apply_unified_diff

BEFORE = "def f(x):\n    a = 1\n    b = 2\n    return a + b + x\n"
AFTER = "def f(x):\n    a = 1\n    b = 3\n    return a + b + x\n"


def _diff(a: str, b: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a/x.py", "b/x.py"))


def test_applies_difflib_diffs() -> None:
    assert apply_unified_diff(BEFORE, _diff(BEFORE, AFTER)) == AFTER
    grown = "import os\n" + AFTER + "\n\ndef g():\n    pass\n"
    assert apply_unified_diff(BEFORE, _diff(BEFORE, grown)) == grown


def test_no_newline_at_end() -> None:
    a, b = "x = 1\ny = 2", "x = 1\ny = 3"
    d = (
        "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n\\ No newline at end of file\n"
        "+y = 3\n\\ No newline at end of file\n"
    )
    assert apply_unified_diff(a, d) == b


@pytest.mark.parametrize(
    "diff",
    [
        "--- a\n+++ b\n@@ -2,1 +2,1 @@\n-    a = 9\n+    a = 1\n",  # context mismatch
        "--- a\n+++ b\n@@ -1,3 +1,3 @@\n def f(x):\n-    a = 1\n+    a = 5\n",  # count mismatch
        "not a diff at all\n",
        "",
        "--- a\n+++ b\n@@ -40,1 +40,1 @@\n-x\n+y\n",  # beyond end
    ],
)
def test_bad_diffs_raise(diff: str) -> None:
    with pytest.raises(PatchError):
        apply_unified_diff(BEFORE, diff)
