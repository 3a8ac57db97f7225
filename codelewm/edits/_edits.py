"""Precise source-segment editing over one function/class: the toolkit behind ``operators``.

Operators never regenerate code with ``ast.unparse`` (that would reformat the whole symbol and make
every edit look like a rewrite); they locate nodes with ``ast`` positions and splice small text edits
into the original source, so the before/after diff is exactly the intended edit. Indented sources
(methods) are parsed inside a dummy ``class`` header instead of being dedented, so no text changes.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass, field

FUNC_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPE_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# evaluation-order / repeat-evaluation boundaries: moving an expression across them changes meaning
DEFERRED_TYPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.BoolOp, ast.IfExp)
RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins))

Edit = tuple[int, int, str]  # (start char offset, end char offset, replacement)


def parse_symbol(source: str) -> tuple[ast.AST, int] | None:
    """Parse one (possibly indented) function/class source; return (symbol node, line shift)."""
    first = source.lstrip("\n").split("\n", 1)[0]
    shift = 1 if first[:1] in (" ", "\t") else 0
    text = ("class _W:\n" + source) if shift else source
    try:
        mod = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    body = mod.body[0].body if shift and mod.body else mod.body  # type: ignore[attr-defined]
    if len(body) != 1 or not isinstance(body[0], (*FUNC_TYPES, ast.ClassDef)):
        return None
    return body[0], shift


def parses(source: str) -> bool:
    return parse_symbol(source) is not None


@dataclass
class Ctx:
    """One parsed symbol plus position helpers (ast columns are UTF-8 byte offsets)."""

    source: str
    node: ast.AST
    shift: int
    lines: list[str] = field(init=False)
    starts: list[int] = field(init=False)
    parents: dict[ast.AST, ast.AST] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.source.splitlines(keepends=True)
        self.starts, pos = [], 0
        for ln in self.lines:
            self.starts.append(pos)
            pos += len(ln)
        self.starts.append(pos)
        self.parents = {}
        for parent in ast.walk(self.node):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent

    # positions -------------------------------------------------------------------------------
    def offset(self, lineno: int, col: int) -> int:
        i = lineno - 1 - self.shift
        line = self.lines[i] if i < len(self.lines) else ""
        return self.starts[i] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def text(self, node: ast.AST) -> str:
        a, b = self.span(node)
        return self.source[a:b]

    def line(self, lineno: int) -> str:
        return self.lines[lineno - 1 - self.shift]

    def line_start(self, lineno: int) -> int:
        return self.starts[lineno - 1 - self.shift]

    def indent_of(self, lineno: int) -> str:
        ln = self.line(lineno)
        return ln[: len(ln) - len(ln.lstrip(" \t"))]

    # structure -------------------------------------------------------------------------------
    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        out = []
        while node in self.parents:
            node = self.parents[node]
            out.append(node)
        return out

    def enclosing_func(self, node: ast.AST) -> str:
        for a in [node, *self.ancestors(node)]:
            if isinstance(a, (*FUNC_TYPES, ast.ClassDef)):
                return a.name
        return getattr(self.node, "name", "")

    def in_fstring(self, node: ast.AST) -> bool:
        # f-string inner positions are unreliable before 3.12: never edit inside one
        return any(isinstance(a, ast.JoinedStr) for a in self.ancestors(node))

    def functions(self) -> list[ast.AST]:
        return [n for n in ast.walk(self.node) if isinstance(n, FUNC_TYPES)]

    def names(self) -> set[str]:
        out = set()
        for n in ast.walk(self.node):
            if isinstance(n, ast.Name):
                out.add(n.id)
            elif isinstance(n, ast.arg):
                out.add(n.arg)
            elif isinstance(n, (*FUNC_TYPES, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, ast.Attribute):
                out.add(n.attr)
        return out

    def fresh_name(self, base: str) -> str:
        """``base`` or ``base_2``... that clashes with no name used in the symbol nor a builtin."""
        taken = self.names() | RESERVED
        if base not in taken:
            return base
        i = 2
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def own_lines(self, stmt: ast.stmt) -> bool:
        """True when ``stmt`` starts its line and nothing but a comment follows it (no ``;``/``:`` sharing)."""
        head = self.line(stmt.lineno).encode("utf-8")[: stmt.col_offset].decode("utf-8", "ignore")
        tail = self.line(stmt.end_lineno).encode("utf-8")[stmt.end_col_offset :].decode("utf-8", "ignore")  # type: ignore[arg-type]
        return head.strip() == "" and (tail.strip() == "" or tail.strip().startswith("#"))

    def string_continuation_lines(self) -> set[int]:
        """Source line numbers (1-based, unshifted) that lie inside a multi-line string token."""
        out: set[int] = set()
        try:
            for tok in tokenize.generate_tokens(io.StringIO(self.source).readline):
                if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                    out.update(range(tok.start[0] + 1, tok.end[0] + 1))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            pass
        return out


def blocks(node: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list (body/orelse/finalbody/handler bodies) under ``node``, in walk order."""
    out = []
    for n in ast.walk(node):
        for name in ("body", "orelse", "finalbody"):
            val = getattr(n, name, None)
            if isinstance(val, list) and val and isinstance(val[0], ast.stmt):
                out.append(val)
    return out


def is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def apply_edits(source: str, edits: list[Edit]) -> str | None:
    """Apply non-overlapping edits; None when two edits overlap (an operator bug, never silent)."""
    out, last = source, len(source) + 1
    for start, end, rep in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > last:
            return None
        out = out[:start] + rep + out[end:]
        last = start
    return out


def short(text: str, limit: int = 60) -> str:
    """One-line rendering of a code fragment for instructions."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 3].rstrip() + "..."
