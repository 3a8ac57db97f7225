"""Whitespace normalization of symbol sources, fragment parsing and line-diff size (shared by CodeState,
dedup and the quality filters).

Normalization is whitespace-only and deterministic: CRLF/CR -> LF, tabs expanded to 8 columns
(Python's own tab rule), block indentation rewritten to 4 spaces per AST level (:func:`reindent`),
trailing whitespace stripped, blank lines dropped. Comments and docstrings are kept (see
:mod:`codelewm.data.codestate`). Fragments (one def/class cut out of a file, possibly indented) are
parsed by nesting them under ``if 1:``, which keeps the text of multi-line strings intact.
"""

from __future__ import annotations

import ast
import difflib
import functools
import gc
from collections.abc import Sequence


class ExtractError(ValueError):
    """A row cannot be turned into a CodeState; ``reason`` is the quarantine reason code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def parse_source(src: str) -> ast.Module:
    """``ast.parse`` with the cyclic GC paused: a parse allocates one object per node, which triggers
    many young-generation collections (a quarter of the parse time on a quiet heap, more on a big one)
    that can never find anything: an AST holds no reference cycles (nodes do not point to parents)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        detail = f"{type(e).__name__}: {e}"
    finally:
        if enabled:
            gc.enable()
    # raised outside the handler: raising inside it would chain the parser's error, whose traceback
    # holds this frame, which holds the error (a reference cycle per unparsable input)
    raise ExtractError("unparsable", detail)


def indent_of(text: str) -> int:
    first = text.expandtabs(8)
    return len(first) - len(first.lstrip(" "))


def normalize(text: str, indent: int = 0) -> str:
    """Whitespace normalization (see module docstring); removes ``indent`` leading columns per line."""
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.expandtabs(8).rstrip()
        if not line:
            continue
        if indent:
            n = len(line) - len(line.lstrip(" "))
            line = line[min(n, indent) :]
        out.append(line)
    return "\n".join(out)


@functools.lru_cache(maxsize=1024)
def reindent(raw: str) -> str:
    """Re-indent a symbol's source to 4 spaces per block level, read off the AST.

    Statement lines (and decorators) get ``4 * depth`` columns; any other line whose column is that of
    a statement line above maps the same way (``else:``, ``except``, comments at block level);
    remaining lines (hanging indents, string bodies) keep their offset from the previous line's shift.
    So 2-space, tab and 4-space versions of the same code normalize identically.
    """
    node = parse_fragment(raw)
    first = 1 if indent_of(raw) == 0 else 2  # raw line 1 is fragment-text line ``first``
    target: dict[int, int] = {}  # raw line (0-based) -> new column
    _statement_columns([node], 0, first, target)
    col_map: dict[int, int] = {}  # expanded column of statement lines seen so far -> new column
    out, shift = [], 0
    for i, line in enumerate(raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        line = line.expandtabs(8)
        stripped = line.lstrip(" ")
        col = len(line) - len(stripped)
        if not stripped:
            out.append("")
            continue
        if i in target:
            shift = target[i] - col
            col_map.setdefault(col, target[i])
        elif col in col_map:
            shift = col_map[col] - col
        out.append(" " * max(0, col + shift) + stripped)
    return "\n".join(out)


def _statement_columns(stmts: list[ast.stmt], depth: int, first: int, target: dict[int, int]) -> None:
    """Fill ``target`` (raw line -> column) for statement, decorator and handler lines. A module-level
    function, not a closure: a recursive closure is a reference cycle, garbage only the cyclic GC
    frees, and extract runs with that GC paused (see :func:`codelewm.rowio.paused_gc`)."""
    for st in stmts:
        for d in getattr(st, "decorator_list", ()):
            target.setdefault(d.lineno - first, 4 * depth)
        target.setdefault(st.lineno - first, 4 * depth)
        for field in ("body", "orelse", "finalbody"):
            sub = getattr(st, field, None)
            if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                _statement_columns(sub, depth + 1, first, target)
        for h in getattr(st, "handlers", ()):
            target.setdefault(h.lineno - first, 4 * depth)
            _statement_columns(h.body, depth + 1, first, target)
        for c in getattr(st, "cases", ()):
            _statement_columns(c.body, depth + 2, first, target)


def fragment_text(seg: str) -> str:
    """The exact text :func:`parse_fragment` parses (source positions refer to it)."""
    return seg if indent_of(seg) == 0 else "if 1:\n" + seg


@functools.lru_cache(maxsize=1024)
def parse_fragment(seg: str) -> ast.stmt:
    """Parse one indented def/class fragment by nesting it under ``if 1:`` (keeps string contents).

    Cached: siblings share their before-symbol. Callers must treat the returned tree as read-only.
    """
    tree = parse_source(fragment_text(seg))
    body = tree.body if indent_of(seg) == 0 else tree.body[0].body  # type: ignore[attr-defined]
    if len(tree.body) != 1 or len(body) != 1:
        raise ExtractError("unparsable", "fragment is not exactly one statement")
    return body[0]


def changed_line_count(a_lines: Sequence[str], b_lines: Sequence[str]) -> int:
    """Lines replaced, inserted or deleted between two texts given as lines (difflib opcodes); the
    caller splits (``splitlines`` for raw files, ``split("\\n")`` for normalized states)."""
    sm = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal")
