"""The source interface and the shared file-change -> per-symbol transition logic.

A source is an iterable of events: a transition dict (``records.TRANSITION_SCHEMA`` fields) or a
:class:`Quarantined` (reason code + the raw row). Every unit a source reads ends as exactly one event,
so ingest's funnel identity ``in == kept + sum(dropped)`` covers bad input too. Git and hf rows are
whole-file changes; :func:`file_change_events` decodes and checks them and emits one transition per
changed top-level function/class/method, whose ``after_file`` is the before file with only that
symbol's lines replaced (so each transition is one isolated edit). Code is parsed, never executed.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from codelewm.config import QualityConfig
from codelewm.data import quality
from codelewm.data.modindex import index_json
from codelewm.records import stable_id

MAX_PAYLOAD = 256_000  # quarantine keeps the row as received, capped so one huge file can't bloat it


@dataclass(frozen=True)
class Quarantined:
    id: str
    reason: str  # short machine-readable code, e.g. non_utf8, binary_file, invalid_python
    detail: str  # human-readable, never file content
    payload: bytes | str = b""


Event = dict[str, Any] | Quarantined


class Source(Protocol):
    """What ingest consumes; ``stats`` holds source-level counters for metrics.json."""

    name: str
    stats: dict[str, Any]

    def __iter__(self) -> Iterator[Event]: ...


def transition(**fields: Any) -> dict[str, Any]:
    """A TRANSITION_SCHEMA row; ``split`` stays empty until dedup, ``meta`` is JSON text."""
    row = {"split": "", **fields}
    if not isinstance(row.get("meta"), str):
        row["meta"] = json.dumps(row.get("meta", {}), sort_keys=True, default=str)
    return row


def payload_of(obj: Any) -> bytes:
    if isinstance(obj, bytes):
        blob = obj
    else:
        blob = json.dumps(obj, sort_keys=True, default=lambda v: repr(v)[:1000]).encode("utf-8", "surrogatepass")
    return blob[:MAX_PAYLOAD]


def symbol_lines(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """Qualified name -> (first line incl. decorators, last line), 1-based, for top-level functions,
    classes, and methods of top-level classes. Duplicate names (redefinitions) keep the last one,
    as Python does at import time."""
    out: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out[node.name] = (start, node.end_lineno or node.lineno)
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        s = min([sub.lineno, *(d.lineno for d in sub.decorator_list)])
                        out[f"{node.name}.{sub.name}"] = (s, sub.end_lineno or sub.lineno)
    return out


def segment(lines: list[str], span: tuple[int, int]) -> str:
    return "".join(lines[span[0] - 1 : span[1]])


def changed_symbols(
    before: str, after: str, b_tree: ast.Module | None = None
) -> list[tuple[str, tuple[int, int], str]]:
    """(qualname, span in before, after segment) for symbols present in both files whose text differs.
    A changed method is reported instead of its class; the class only when its own lines changed.
    ``b_tree``: ``ast.parse(before)`` if the caller has it."""
    b_tree, a_tree = ast.parse(before) if b_tree is None else b_tree, ast.parse(after)
    b_syms, a_syms = symbol_lines(b_tree), symbol_lines(a_tree)
    b_lines, a_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    changed = {
        q: (span, segment(a_lines, a_syms[q]))
        for q, span in b_syms.items()
        if q in a_syms and segment(b_lines, span) != segment(a_lines, a_syms[q])
    }
    out = []
    for q, (span, new) in sorted(changed.items(), key=lambda kv: kv[1][0]):
        if "." not in q and any(k.startswith(q + ".") for k in changed):
            if _strip_methods(segment(b_lines, span)) == _strip_methods(new):
                continue  # only methods changed: they are reported on their own
        out.append((q, span, new))
    return out


def _strip_methods(cls_src: str) -> str:
    """Class source without its method bodies, to see whether class-level lines changed."""
    try:
        node = ast.parse(cls_src).body[0]  # a top-level class segment: not indented
    except (SyntaxError, IndexError):
        return cls_src
    lines = cls_src.splitlines(keepends=True)
    keep = set(range(1, len(lines) + 1))
    for sub in getattr(node, "body", []):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
            s = min([sub.lineno, *(d.lineno for d in sub.decorator_list)])
            keep -= set(range(s, (sub.end_lineno or sub.lineno) + 1))
    return "".join(lines[i - 1] for i in sorted(keep))


def decode(blob: bytes | str | None, what: str) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason): missing, binary (NUL bytes) or undecodable input."""
    if blob is None:
        return None, f"missing_{what}"
    if not isinstance(blob, (str, bytes)):
        return None, f"invalid_{what}"
    if isinstance(blob, str):
        return (None, "binary_file") if "\x00" in blob else (blob, None)
    if b"\x00" in blob:
        return None, "binary_file"
    try:
        return blob.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "non_utf8"


def file_change_events(
    *,
    source: str,
    repo: str,
    path: str,
    license: str,
    message: Any,
    before: bytes | str | None,
    after: bytes | str | None,
    meta: dict[str, Any],
    locator: tuple[str, ...],
    qcfg: QualityConfig,
    raw: Any,
) -> Iterator[Event]:
    """Check one whole-file change and yield one transition per changed symbol (or one quarantine)."""
    rid = stable_id(source, *locator)

    def bad(reason: str, detail: str) -> Quarantined:
        return Quarantined(rid, reason, f"{repo}:{path}: {detail}", payload_of(raw))

    if not isinstance(message, str) or not message.strip():
        yield bad("missing_message", "empty or missing commit message")
        return
    if not isinstance(path, str) or not path:
        yield bad("missing_path", "no file path")
        return
    n_bytes = max(len(b) if isinstance(b, (str, bytes)) else 0 for b in (before, after))
    reason = quality.check_row(message, path, n_bytes, qcfg)
    if reason:
        yield bad(reason, f"quality filter {reason}")
        return
    b_text, reason = decode(before, "before")
    a_text, reason2 = (None, None) if reason else decode(after, "after")
    if reason or reason2:
        yield bad(reason or reason2 or "", "undecodable file content")
        return
    assert b_text is not None and a_text is not None
    if b_text == a_text:
        yield bad("identical", "before and after files are identical")
        return
    try:
        b_tree = ast.parse(b_text)
        syms = changed_symbols(b_text, a_text, b_tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        yield bad("invalid_python", f"does not parse: {type(e).__name__}")
        return
    if not syms:
        yield bad("no_changed_symbol", "no function/class present in both versions changed")
        return
    before_index = index_json(b_tree, b_text)  # parsed once per data path
    b_lines = b_text.splitlines(keepends=True)
    for qual, span, new_seg in syms:
        old_seg = segment(b_lines, span)
        if not new_seg.endswith("\n") and span[1] < len(b_lines):
            new_seg += "\n"  # the symbol was the file's last line; keep following lines separate
        after_file = "".join(b_lines[: span[0] - 1]) + new_seg + "".join(b_lines[span[1] :])
        reason = quality.check_edit(old_seg, new_seg, len(b_lines), qcfg)
        sid = stable_id(source, *locator, qual)
        if reason:
            yield Quarantined(sid, reason, f"{repo}:{path}:{qual}: quality filter {reason}", payload_of(raw))
            continue
        yield transition(
            id=sid,
            source=source,
            repo=repo,
            path=path,
            symbol=qual,
            license=license,
            instruction=message.strip(),
            op="commit",
            family="commit",
            instruction_kind="commit",
            before_file=b_text,
            before_index=before_index,
            after_file=after_file,
            before_key=stable_id(source, repo, path, qual, b_text),
            meta={**meta, "line": span[0]},
        )
