"""Git-history source: one transition per changed top-level function/class/method of each commit.

Reads a local repository through the ``git`` CLI only (``rev-list``, ``diff-tree``, ``cat-file``):
nothing from the repository is executed, hooks never run (read-only plumbing commands). Merges are
skipped; each modified ``.py`` file of a commit (vs its first parent) is one unit, checked and split
into per-symbol transitions by :func:`base.file_change_events`. The commit message is the
instruction. The licence comes from ``git.license`` or the repository's LICENSE/COPYING file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codelewm.config import GitSourceConfig, QualityConfig
from codelewm.data.sources.base import Event, file_change_events
from codelewm.data.sources.licensefile import detect_license

GIT_TIMEOUT_S = 120


class GitError(RuntimeError):
    """The repository or rev range cannot be read (fails the stage: a config error, not bad data)."""


def _git(repo: Path, *args: str) -> bytes:
    try:
        res = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GitError(f"git {args[0]} failed: {e}") from e
    if res.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])} failed: {res.stderr.decode('utf-8', 'replace').strip()[:300]}")
    return res.stdout


class BlobReader:
    """One long-lived ``git cat-file --batch`` process: fast blob reads by ``<rev>:<path>``."""

    def __init__(self, repo: Path):
        self.proc = subprocess.Popen(
            ["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def read(self, rev: str, path: str) -> bytes | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if "\n" in path:
            return None  # cat-file's line protocol can't address it; reported as missing content
        self.proc.stdin.write(f"{rev}:{path}\n".encode("utf-8", "surrogateescape"))
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)  # trailing newline after each object
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=GIT_TIMEOUT_S)


def changed_py_files(repo: Path, sha: str) -> list[tuple[str, str]]:
    """(status letter, path) of ``.py`` files changed by ``sha`` vs its first parent (root: vs empty)."""
    out = _git(repo, "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", "--name-status", "--root", sha)
    parts = out.decode("utf-8", "surrogateescape").split("\0")
    pairs = [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
    return [(st, p) for st, p in pairs if p.endswith(".py")]


class GitSource:
    """Iterable of commit transitions and quarantined file changes; see module docstring."""

    name = "git"

    def __init__(self, cfg: GitSourceConfig, qcfg: QualityConfig):
        if not cfg.repo:
            raise GitError("ingest.git.repo is empty: set it to a local git repository")
        self.cfg, self.qcfg = cfg, qcfg
        self.repo = Path(cfg.repo).resolve()
        lic, lic_file = (cfg.license, "params") if cfg.license else detect_license(self.repo)
        self.license = lic
        self.stats: dict[str, Any] = {"commits": 0, "files_changed": 0, "files_added_or_deleted": 0,
                                      "license": lic, "license_from": lic_file}  # fmt: skip

    def __iter__(self) -> Iterator[Event]:
        shas = _git(self.repo, "rev-list", "--no-merges", f"--max-count={self.cfg.max_commits}", self.cfg.rev_range)
        commits = shas.decode().split()[::-1]  # oldest first: a stable, history-ordered stream
        blobs = BlobReader(self.repo)
        try:
            for sha in commits:
                self.stats["commits"] += 1
                yield from self._commit_events(sha, blobs)
        finally:
            blobs.close()

    def _commit_events(self, sha: str, blobs: BlobReader) -> Iterator[Event]:
        info = _git(self.repo, "show", "-s", "--format=%P%x00%B", sha).decode("utf-8", "replace")
        parents, _, message = info.partition("\0")
        parent = parents.split()[0] if parents.split() else ""
        for status, path in changed_py_files(self.repo, sha):
            if status != "M" or not parent:
                self.stats["files_added_or_deleted"] += 1  # no before or after version: not an edit
                continue
            self.stats["files_changed"] += 1
            before, after = blobs.read(parent, path), blobs.read(sha, path)
            raw = {"commit": sha, "parent": parent, "path": path, "message": message[:2000]}
            yield from file_change_events(
                source=self.name,
                repo=self.repo.name,
                path=path,
                license=self.license,
                message=message,
                before=before,
                after=after,
                meta={"commit": sha, "parent": parent},
                locator=(self.repo.name, sha, path),
                qcfg=self.qcfg,
                raw=raw,
            )
