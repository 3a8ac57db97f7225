"""Commit-quality predicates: None = pass, else a reason code."""

from __future__ import annotations

import pytest

from codelewm.config import QualityConfig
from codelewm.data import quality

Q = QualityConfig()


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        ("Fix bugs", None),
        ("fix", "message_too_short"),
        ("x" * 2000 + " y", "message_too_long"),
        ("Handle empty input in parser", None),
    ],
)
def test_message_length(msg: str, reason: str | None) -> None:
    assert quality.message_length(msg, Q) == reason


@pytest.mark.parametrize(
    "msg",
    ["Merge pull request #3 from x/y", 'Revert "Add thing"', "WIP on parser", "Bump version to 1.2", "Release 2.0"],
)
def test_message_kind_skips(msg: str) -> None:
    assert quality.message_kind(msg, Q) == "skip_message"


def test_message_kind_passes_normal() -> None:
    assert quality.message_kind("Wipe cache before reload", Q) is None  # "wip" only as a word


@pytest.mark.parametrize(
    "path", ["vendor/x.py", "a/third_party/b.py", "proto/m_pb2.py", "app/migrations/0001_init.py", "setup.py"]
)
def test_generated_paths(path: str) -> None:
    assert quality.generated_path(path, Q) == "skip_path"
    assert quality.generated_path("src/app/core.py", Q) is None


def test_size_and_edit_bounds() -> None:
    assert quality.file_size(Q.max_file_bytes + 1, Q) == "file_too_large" and quality.file_size(10, Q) is None
    a = "".join(f"x{i} = {i}\n" for i in range(10))
    assert quality.identical(a, a) == "identical"
    assert quality.whitespace_only(a, a.replace("\n", "  \n")) == "empty_diff"
    assert quality.edit_size(a, a.replace("x1 = 1", "x1 = 2"), 100, Q) is None
    b = "".join(f"y{i} = {i}\n" for i in range(10))
    assert quality.edit_size(a, b, 10, Q) == "edit_ratio_too_high"
    big = "".join(f"z{i} = {i}\n" for i in range(300))
    assert quality.edit_size("", big, 10_000, Q) == "too_many_changed_lines"
    assert quality.changed_lines(a, a.replace("x1 = 1", "x1 = 2")) == 1


def test_check_row_order() -> None:
    assert quality.check_row("Merge it now please", "vendor/a.py", 10**9, Q) == "skip_message"
    assert quality.check_row("Fix the parser edge case", "a.py", 10, Q) is None
    assert quality.check_edit("a = 1\n", "a = 1\n", 5, Q) == "identical"
