"""DVC remote: the repo's `hf` remote is configured without secrets, and a push/pull round trip
through a local (directory) remote restores data bit for bit, using the venv's dvc CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DVC = Path(sys.executable).with_name("dvc")
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def _run(cwd: Path, *args: str) -> str:
    res = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"{' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_hf_remote_is_configured_without_credentials() -> None:
    text = (ROOT / ".dvc" / "config").read_text()
    assert "['remote \"hf\"']" in text
    assert "url = s3://" in text and "endpointurl = https://s3.hf.co" in text
    for secret_key in ("access_key_id", "secret_access_key", "session_token"):
        assert f"{secret_key} =" not in text  # credentials only ever in config.local
    assert "/config.local" in (ROOT / ".dvc" / ".gitignore").read_text()


@pytest.mark.skipif(not DVC.exists(), reason="dvc CLI not installed next to the interpreter")
def test_push_pull_round_trip_through_local_remote(tmp_path: Path) -> None:
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    _run(repo, "git", "init", "-q")
    _run(repo, str(DVC), "init", "-q")
    data = repo / "data" / "shard.bin"
    data.parent.mkdir()
    data.write_bytes(os.urandom(4096) + b"codelewm\n")
    want = _sha(data)
    _run(repo, str(DVC), "add", "-q", "data/shard.bin")
    _run(repo, str(DVC), "remote", "add", "-d", "local", str(remote))
    _run(repo, "git", "add", "-A")
    _run(repo, "git", "commit", "-q", "-m", "track data")
    _run(repo, str(DVC), "push", "-q")
    assert any(p.is_file() for p in remote.rglob("*")), "push wrote nothing to the remote"
    shutil.rmtree(repo / ".dvc" / "cache")
    data.unlink()
    _run(repo, str(DVC), "pull", "-q")
    assert data.exists() and _sha(data) == want
    md5 = hashlib.md5(data.read_bytes()).hexdigest()
    assert f"md5: {md5}" in (repo / "data" / "shard.bin.dvc").read_text()  # DVC's own checksum agrees
