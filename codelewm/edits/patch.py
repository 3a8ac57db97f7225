"""A small strict unified-diff applier for single-file candidate patches.

Strict means: every hunk's context and removed lines must match the original exactly at the line
number its header states (no fuzz, no offset search), hunk line counts must agree with the header, and
hunks must be in order and not overlap. Anything else raises ``PatchError`` — a reranker that silently
skipped a bad candidate would report a ranking over a different candidate set than the caller gave.
"""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """The diff is malformed or does not apply to the given original."""


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def apply_unified_diff(original: str, diff: str) -> str:
    """Apply a single-file unified diff to ``original`` and return the patched text."""
    src = _split(original)
    lines = diff.splitlines(keepends=True)
    out: list[str] = []
    pos = 0  # next unconsumed index into src
    i = 0
    n_hunks = 0
    n_headers = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            n_headers += 1
            if n_headers > 1:
                raise PatchError("diff touches more than one file")
            i += 2
            continue
        m = _HUNK.match(line)
        if not m:
            if n_hunks == 0 and (not line.strip() or line.startswith(("diff ", "index "))):
                i += 1  # git preamble or blank lines before the first hunk
                continue
            raise PatchError(f"line {i + 1}: expected a hunk header, got {line.rstrip()[:60]!r}")
        n_hunks += 1
        old_start, old_len = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
        new_len = int(m.group(4) if m.group(4) is not None else 1)
        # "-0,0" means insertion before line 1; otherwise header line numbers are 1-based
        start = old_start - 1 if old_len > 0 else old_start
        if start < pos:
            raise PatchError(f"hunk {n_hunks}: overlaps or is out of order (starts at line {old_start})")
        if start > len(src):
            raise PatchError(f"hunk {n_hunks}: starts at line {old_start} beyond end of file ({len(src)} lines)")
        out.extend(src[pos:start])
        pos = start
        seen_old = seen_new = 0
        last_tag = ""
        i += 1
        while i < len(lines) and (seen_old < old_len or seen_new < new_len or lines[i].startswith("\\")):
            body = lines[i]
            tag, text = body[:1], body[1:]
            if tag == "\\":  # "\ No newline at end of file" applies to the previous line
                if last_tag in ("+", " ") and out and out[-1].endswith("\n"):
                    out[-1] = out[-1][:-1]
                i += 1
                continue
            last_tag = tag if body not in ("\n", "\r\n") else " "
            if body in ("\n", "\r\n"):  # some tools strip the space of empty context lines
                tag, text = " ", body
            if tag in (" ", "-"):
                if pos >= len(src) or src[pos].rstrip("\r\n") != text.rstrip("\r\n"):
                    got = src[pos].rstrip() if pos < len(src) else "<end of file>"
                    raise PatchError(
                        f"hunk {n_hunks}: line {pos + 1} does not match: "
                        f"expected {text.rstrip()[:60]!r}, got {got[:60]!r}"
                    )
                if tag == " ":
                    out.append(src[pos])
                    seen_new += 1
                pos += 1
                seen_old += 1
            elif tag == "+":
                out.append(text if text.endswith("\n") else text + "\n")
                seen_new += 1
            else:
                raise PatchError(f"hunk {n_hunks}: unexpected line {body.rstrip()[:60]!r}")
            i += 1
        if seen_old != old_len or seen_new != new_len:
            raise PatchError(
                f"hunk {n_hunks}: header says -{old_len} +{new_len} lines but body has -{seen_old} +{seen_new}"
            )
    if n_hunks == 0:
        raise PatchError("no hunks in diff")
    out.extend(src[pos:])
    return "".join(out)
