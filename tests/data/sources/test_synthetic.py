"""Synthetic source over a tiny local tree: siblings, determinism, skipping, quarantine."""

from __future__ import annotations

import json
from pathlib import Path

from codelewm.config import BugfixConfig, QualityConfig, SyntheticSourceConfig
from codelewm.data.sources.base import Quarantined
from codelewm.data.sources.synthetic import SyntheticSource

MODULE = '''
import os


def load(path, mode, retries):
    """Read a file."""
    data = None
    for attempt in range(retries):
        if os.path.exists(path) and mode:
            data = open(path, mode).read()
            break
        retries = retries - 1
    return data


class Box:
    def area(self, width, height):
        scale = 2
        value = width * height
        if value > 100:
            value = value - 1
        return max(value * scale, 0)
'''


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "core.py").write_text(MODULE)
    (tmp_path / "single.py").write_text(MODULE)
    (tmp_path / "pkg" / "tests").mkdir()
    (tmp_path / "pkg" / "tests" / "test_core.py").write_text(MODULE)  # skipped dir
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    return tmp_path


def _run(root: Path, seed: int = 0, siblings: int = 3, families: dict | None = None, **kw) -> list:
    cfg = SyntheticSourceConfig(
        roots=(str(root),), max_files=50, max_before_states=50, siblings=siblings,
        families=families or {"edit": 1.0, "bugfix": 0.0}, **kw,
    )  # fmt: skip
    return list(SyntheticSource(cfg, QualityConfig(), seed))


def test_siblings_share_before_key_and_differ(tmp_path: Path) -> None:
    events = _run(_tree(tmp_path))
    rows = [e for e in events if isinstance(e, dict)]
    assert rows and all(r["path"] != "pkg/tests/test_core.py" for r in rows)
    by_key: dict[str, list[dict]] = {}
    for r in rows:
        by_key.setdefault(r["before_key"], []).append(r)
    for group in by_key.values():
        assert 2 <= len(group) <= 3
        assert len({r["op"] for r in group}) == len(group)  # different operators
        assert len({r["after_file"] for r in group}) == len(group)
        assert len({r["before_file"] for r in group}) == 1
        assert len({r["symbol"] for r in group}) == 1
    assert {r["repo"] for r in rows} == {"pkg", "single"}
    assert all(r["license"] == "PSF-2.0" and r["split"] == "" and r["source"] == "synthetic" for r in rows)
    assert all(json.loads(r["meta"])["op_meta"] for r in rows)
    assert {r["symbol"] for r in rows} <= {"load", "Box.area"}
    assert {(r["family"], r["instruction_kind"]) for r in rows} == {("edit", "literal")}


def test_bugfix_family_trains_the_fix_against_wrong_fixes(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    real = {p: (root / p).read_text() for p in ("pkg/core.py", "single.py")}
    cfg = BugfixConfig(wrong_fixes=2, instructions={"generic": 1.0})
    rows = [e for e in _run(root, families={"bugfix": 1.0}, bugfix=cfg) if isinstance(e, dict)]
    by_key: dict[str, list[dict]] = {}
    for r in rows:
        by_key.setdefault(r["before_key"], []).append(r)
    assert len(by_key) == 4  # two symbols in each of two files
    for group in by_key.values():
        fixes = [r for r in group if r["family"] == "fix"]
        wrong = [r for r in group if r["family"] == "wrong_fix"]
        assert len(fixes) == 1 and 1 <= len(wrong) <= 2 and len(group) == len(fixes) + len(wrong)
        fix = fixes[0]
        # buggy -> the real file; the wrong fixes edit the same buggy state into something else
        assert fix["after_file"] == real[fix["path"]] != fix["before_file"]
        assert fix["op"] == "fix_" + json.loads(fix["meta"])["op_meta"]["bug_op"]
        assert fix["instruction_kind"] == "generic"
        assert fix["symbol"].split(".")[-1] in fix["instruction"]
        for w in wrong:
            assert w["before_file"] == fix["before_file"] and w["after_file"] not in (
                fix["after_file"],
                w["before_file"],
            )
            assert w["instruction_kind"] == "literal" and "`" in w["instruction"]


def test_deterministic_by_seed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    a, b = _run(root, seed=3), _run(root, seed=3)
    assert a == b
    c = _run(root, seed=4)
    assert [e["instruction"] for e in a if isinstance(e, dict)] != [e["instruction"] for e in c if isinstance(e, dict)]


def test_bad_files_are_quarantined(tmp_path: Path) -> None:
    events = _run(_tree(tmp_path))
    reasons = {e.detail.split(":")[0]: e.reason for e in events if isinstance(e, Quarantined)}
    assert reasons == {"broken.py": "invalid_python", "latin.py": "non_utf8"}


def test_default_root_is_stdlib() -> None:
    cfg = SyntheticSourceConfig(max_files=3, max_before_states=2, siblings=2)
    src = SyntheticSource(cfg, QualityConfig(), 0)
    rows = [e for e in src if isinstance(e, dict)]
    assert rows and src.stats["n_before_states"] == 2
