"""Git source: per-symbol transitions from a repo built with ``git init``, and this project's history."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codelewm.config import GitSourceConfig, QualityConfig
from codelewm.data.sources.base import Quarantined
from codelewm.data.sources.git import GitError, GitSource
from tests.data.sources.gitfixture import commit, git, init

V1 = (
    "import os\n\n\ndef a(x):\n    return x + 1\n\n\n"
    "class K:\n    def m(self, y):\n        return y * 2\n\n    def n(self):\n        return 0\n"
)
V2 = V1.replace("return x + 1", "return x + 2").replace("return y * 2", "return y * 3")
MIT = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = init(tmp_path / "demo")
    commit(r, {"LICENSE": MIT, "mod.py": V1}, "Initial import of the module")
    commit(r, {"mod.py": V2}, "Increase the increments in a and K.m")
    commit(r, {"README.md": "docs"}, "Document the project")  # no python change
    return r


def test_one_transition_per_changed_symbol(repo: Path) -> None:
    src = GitSource(GitSourceConfig(repo=str(repo)), QualityConfig())
    rows = [e for e in src if isinstance(e, dict)]
    assert sorted(r["symbol"] for r in rows) == ["K.m", "a"]
    for r in rows:
        assert r["instruction"] == "Increase the increments in a and K.m"
        assert r["license"] == "MIT" and r["repo"] == "demo" and r["op"] == "commit"
        assert r["before_file"] == V1 and r["after_file"] != V2  # only this symbol's edit applied
    a = next(r for r in rows if r["symbol"] == "a")
    assert "x + 2" in a["after_file"] and "y * 2" in a["after_file"]
    assert src.stats["commits"] == 3 and src.stats["license_from"] == "LICENSE"


def test_license_override_and_merges_skipped(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, {"mod.py": V2.replace("return 0", "return 1")}, "Return one from K.n always")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"other.py": "def z():\n    return 1\n"}, "Add another module here")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch side", "side")
    rows = [
        e
        for e in GitSource(GitSourceConfig(repo=str(repo), license="Apache-2.0"), QualityConfig())
        if isinstance(e, dict)
    ]
    assert {r["license"] for r in rows} == {"Apache-2.0"}
    assert sorted(r["symbol"] for r in rows) == ["K.m", "K.n", "a"]  # the merge commit adds nothing


def test_quality_filters_apply(repo: Path) -> None:
    commit(repo, {"mod.py": V2.replace("return 0", "return 5")}, "WIP")
    events = list(GitSource(GitSourceConfig(repo=str(repo)), QualityConfig()))
    assert [e.reason for e in events if isinstance(e, Quarantined)] == ["message_too_short"]


def test_bad_repo_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        list(GitSource(GitSourceConfig(repo=str(tmp_path)), QualityConfig()))


def test_project_history() -> None:
    root = Path(__file__).resolve().parents[3]
    try:
        n = int(subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"], capture_output=True,
                               text=True, check=True).stdout)  # fmt: skip
    except (subprocess.CalledProcessError, ValueError, OSError):
        pytest.skip("not a git checkout")
    if n < 2:
        pytest.skip("project history has < 2 commits")
    src = GitSource(GitSourceConfig(repo=str(root), max_commits=20), QualityConfig())
    events = list(src)
    assert src.stats["commits"] >= 1
    for e in events:
        assert isinstance(e, Quarantined) or (e["source"] == "git" and e["before_file"] != e["after_file"])
