"""Stage ``label``: execution-derived labels for the bug-fix family's wrong fixes, from doctests.

A wrong fix is a negative of its fix row: "this edit does not fix the bug". That is only true if the
edit really leaves the program wrong; a mutant that still passes the function's own tests may be a
fix too (an equivalent edit) and must not be pushed away from the instruction. Where the real code has
runnable checks (the symbol's docstring holds doctest examples: ~2% of standard-library functions),
every state of the group is run in the sandbox (:mod:`codelewm.sandbox`), never in this process:

* the real code (the fix row's after-state) must pass its doctests, else the group gets no labels
  (``doctest_fails_on_real_code``: an example that needs the environment, or output that varies);
* the buggy before-state is recorded as ``bug_caught`` when its doctests fail;
* a wrong fix whose doctests pass is quarantined as ``wrong_fix_passes_tests``.

Everything else passes through unchanged. The module is executed under its own name (``__name__`` is
the module's dotted name, so its ``if __name__ == "__main__"`` block does not run) and the examples are
found with :class:`doctest.DocTestFinder` on the symbol, as ``python -m doctest`` would.
"""

from __future__ import annotations

import ast
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from codelewm.config import LabelConfig
from codelewm.data.sources.base import payload_of
from codelewm.records import TRANSITION_SCHEMA
from codelewm.rowio import RecordWriter, iter_records
from codelewm.sandbox.runner import SandboxLimits, isolation, run_python
from codelewm.stageio import Stage

STAGE = "label"
LABEL_FAMILIES = ("fix", "wrong_fix")

_RUNNER = """
import doctest, sys, types
src = {src!r}
mod = types.ModuleType({module!r})
mod.__package__ = {package!r}
sys.modules[{module!r}] = mod
exec(compile(src, {path!r}, "exec"), mod.__dict__)
obj = mod
for part in {qual!r}.split("."):
    obj = getattr(obj, part)
tests = doctest.DocTestFinder(recurse=False).find(obj, {qual!r}, module=mod, globs=mod.__dict__)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
for t in tests:
    runner.run(t, out=lambda s: None)
res = runner.summarize(verbose=False)
assert res.attempted > 0, "no doctest examples"
assert res.failed == 0, "doctest failed"
"""


def has_doctest(file_text: str, qual: str) -> bool:
    """Whether ``qual`` (``f`` or ``C.m``) in ``file_text`` has a docstring with ``>>>`` examples."""
    try:
        node: Any = ast.parse(file_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for part in qual.split("."):
        body = getattr(node, "body", [])
        node = next((n for n in body if getattr(n, "name", None) == part), None)
        if node is None:
            return False
    doc = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    return bool(doc) and ">>>" in doc


def doctest_program(file_text: str, path: str, qual: str) -> str:
    """A sandbox program that runs the doctests of ``qual`` in the module ``file_text`` (at ``path``)."""
    module = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    return _RUNNER.format(src=file_text, module=module, package=package, path=path, qual=qual)


def label_group(rows: list[dict[str, Any]], limits: SandboxLimits, runs: Counter[str]) -> dict[str, str]:
    """Verdicts of one before-state's fix/wrong-fix rows: ``row id -> reason`` for rows to quarantine;
    ``runs`` counts sandbox outcomes and labelled groups."""
    fix = next((r for r in rows if r["family"] == "fix"), None)
    if fix is None or not has_doctest(fix["after_file"], fix["symbol"]):
        return {}
    runs["groups_with_doctests"] += 1

    def passes(text: str) -> bool:
        res = run_python(doctest_program(text, fix["path"], fix["symbol"]), limits)
        runs[res.status] += 1
        return res.status == "passed"

    if not passes(fix["after_file"]):
        runs["doctest_fails_on_real_code"] += 1
        return {}
    runs["groups_labelled"] += 1
    if not passes(fix["before_file"]):
        runs["bug_caught"] += 1
    return {r["id"]: "wrong_fix_passes_tests" for r in rows if r["family"] == "wrong_fix" and passes(r["after_file"])}


def run_label(cfg: LabelConfig, input_path: Path, out_dir: Path) -> dict[str, Any]:
    """Label ``input_path``'s bug-fix groups by their doctests; passing wrong fixes are quarantined.

    A group is decided once all of it has been read, so the fix/wrong-fix rows are held (small columns
    and their files) until the end of the first pass; the second pass copies or quarantines every row."""
    input_path = Path(input_path)
    limits = SandboxLimits(timeout_s=cfg.timeout_s, cpu_s=cfg.cpu_s, memory_mb=cfg.memory_mb,
                           max_file_mb=cfg.max_file_mb, max_procs=cfg.max_procs, policy=cfg.sandbox)  # fmt: skip
    with Stage(STAGE, Path(out_dir), params={"label": cfg}, parents=[input_path]) as st:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        cols = ["id", "family", "before_key", "symbol", "path", "before_file", "after_file"]
        for row in iter_records(input_path, columns=cols):
            if row["family"] in LABEL_FAMILIES:
                groups[row["before_key"]].append(row)
        runs: Counter[str] = Counter()
        verdicts: dict[str, str] = {}
        for key in sorted(groups):
            verdicts.update(label_group(groups[key], limits, runs))
        groups.clear()
        with RecordWriter(st.output("transitions.parquet"), TRANSITION_SCHEMA) as rw, st.quarantine() as qw:
            for row in iter_records(input_path):
                reason = verdicts.get(row["id"])
                if reason:
                    detail = f"{row['path']}:{row['symbol']}: its doctests pass"
                    qw.add(row["id"], reason, detail, row["source"], payload_of(row))
                else:
                    rw.write(row)
                    st.funnel.keep()
        st.metrics.update(
            sandbox=dict(sorted(runs.items())), sandbox_isolation=isolation(cfg.sandbox) if runs else "unused"
        )
    return st.result
