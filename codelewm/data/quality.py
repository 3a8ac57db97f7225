"""Commit-quality filters: each a pure predicate returning ``None`` (pass) or a short reason code.

Applied to git and hf rows before they are split into per-symbol transitions (message, path, size),
and to every transition (sanity: identical/whitespace-only edits, changed-line count, edit ratio) —
including synthetic ones, where a failure means an operator misbehaved. The runner (ingest) turns a
reason into a quarantined row, so nothing is dropped without one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from codelewm.config import QualityConfig
from codelewm.data.normalize import changed_line_count


@lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def message_length(message: str, cfg: QualityConfig) -> str | None:
    msg = message.strip()
    if len(msg) < cfg.min_message_chars or len(msg.split()) < cfg.min_message_words:
        return "message_too_short"
    if len(msg) > cfg.max_message_chars:
        return "message_too_long"
    return None


def message_kind(message: str, cfg: QualityConfig) -> str | None:
    """Merge/revert/WIP/version-bump/release messages describe no reproducible code edit."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    if any(p.search(first) for p in _compile(cfg.skip_message_patterns)):
        return "skip_message"
    return None


def generated_path(path: str, cfg: QualityConfig) -> str | None:
    """Vendored, generated (protobuf, migrations) and packaging files are not authored edits."""
    if any(p.search(path) for p in _compile(cfg.skip_path_patterns)):
        return "skip_path"
    return None


def file_size(n_bytes: int, cfg: QualityConfig) -> str | None:
    return "file_too_large" if n_bytes > cfg.max_file_bytes else None


def changed_lines(before: str, after: str) -> int:
    """Lines removed + lines added by a line diff (the size of the edit)."""
    return changed_line_count(before.splitlines(), after.splitlines())


def identical(before: str, after: str) -> str | None:
    return "identical" if before == after else None


def whitespace_only(before: str, after: str) -> str | None:
    """An edit that only touches whitespace/blank lines has an empty code diff."""
    norm = lambda s: [ln.rstrip() for ln in s.splitlines() if ln.strip()]  # noqa: E731
    return "empty_diff" if norm(before) == norm(after) else None


def edit_size(before: str, after: str, total_lines: int, cfg: QualityConfig) -> str | None:
    """Too many changed lines, or most of the file changed: a rewrite, not an edit."""
    n = changed_lines(before, after)
    if n == 0:
        return "empty_diff"
    if n > cfg.max_changed_lines:
        return "too_many_changed_lines"
    if n / max(total_lines, 1) > cfg.max_edit_ratio:
        return "edit_ratio_too_high"
    return None


def check_row(message: str, path: str, n_bytes: int, cfg: QualityConfig) -> str | None:
    """Row-level predicates in a fixed order; first failure wins (stable reason counts)."""
    checks: tuple[Callable[[], str | None], ...] = (
        lambda: message_length(message, cfg),
        lambda: message_kind(message, cfg),
        lambda: generated_path(path, cfg),
        lambda: file_size(n_bytes, cfg),
    )
    for check in checks:
        reason = check()
        if reason:
            return reason
    return None


def check_edit(before: str, after: str, total_lines: int, cfg: QualityConfig) -> str | None:
    """Edit-level predicates over the changed symbol's before/after source."""
    return identical(before, after) or whitespace_only(before, after) or edit_size(before, after, total_lines, cfg)
