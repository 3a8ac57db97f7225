"""dvc.yaml deps are exact by construction: every file a stage's code imports (transitively, inside
codelewm/ and pipeline/, lazy imports included) or reads as package data is covered by a dep of that
stage (the file itself or a directory above it), and no listed Python file is one the stage never
imports. A missing dep would let ``dvc repro`` skip a stage whose code changed."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("codelewm", "pipeline")
# files read at run time rather than imported: (module that reads them, what it reads)
DATA_READS = {"codelewm/report/render.py": ("codelewm/report/templates",)}


def module_file(module: str) -> Path | None:
    """The source file of a first-party module (a package's __init__.py), or None."""
    base = ROOT.joinpath(*module.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _with_packages(module: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs every package __init__ above it."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@cache
def imports_of(path: Path) -> frozenset[str]:
    """First-party modules ``path`` imports anywhere (top level or inside functions)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{a.name}" for a in node.names]  # a name may be a submodule
        else:
            continue
        found.update(n for n in names if n.split(".")[0] in PACKAGES and module_file(n) is not None)
    return frozenset(found)


def closure(module: str) -> set[str]:
    """Repo-relative paths of every first-party file ``module`` loads, plus the data files they read."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for m in _with_packages(todo.pop()):
            f = module_file(m)
            rel = f.relative_to(ROOT).as_posix() if f else None
            if rel is None or rel in seen:
                continue
            seen.add(rel)
            todo.extend(imports_of(f))
    return seen | {d for f in seen for d in DATA_READS.get(f, ())}


def _stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _entry(cmd: str) -> str:
    m = re.search(r"python -m (pipeline\.\w+)", cmd)
    assert m, f"stage cmd does not run a pipeline wrapper: {cmd}"
    return m.group(1)


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_deps_cover_everything_its_code_loads(name: str) -> None:
    stage = _stages()[name]
    deps = [str(d) for d in stage.get("deps", [])]
    needed = closure(_entry(stage["cmd"]))
    missing = sorted(p for p in needed if not _covered(p, deps))
    assert not missing, f"dvc.yaml stage {name} misses deps: {missing}"
    stale = [d for d in deps if d.endswith(".py") and d.split("/")[0] in PACKAGES and d not in needed]
    assert not stale, f"dvc.yaml stage {name} lists code it never imports: {stale}"
    for d in deps:
        if d.split("/")[0] in PACKAGES:
            assert (ROOT / d).exists(), f"dvc.yaml stage {name}: dep {d} does not exist"


def test_the_closure_follows_lazy_and_submodule_imports() -> None:
    ingest = closure("pipeline.ingest")
    # imported inside make_source (lazily) and through "from codelewm.data.sources import ..."
    assert {"codelewm/data/sources/synthetic.py", "codelewm/edits/operators.py", "pipeline/_common.py"} <= ingest
    assert {"codelewm/__init__.py", "codelewm/data/__init__.py", "pipeline/__init__.py"} <= ingest
    assert "codelewm/model/jepa.py" not in ingest


def suggested_deps(name: str) -> list[str]:
    """The code deps of a stage as dvc.yaml should list them: whole directories whose every file the
    stage loads, single files otherwise (``python -m tests.test_dvc_deps`` prints them)."""
    needed = sorted(closure(_entry(_stages()[name]["cmd"])))
    data = [d for reads in DATA_READS.values() for d in reads]
    dirs = set()
    for d in {parent.as_posix() for f in needed for parent in Path(f).parents} - {".", *PACKAGES}:
        files = [p.relative_to(ROOT).as_posix() for p in (ROOT / d).rglob("*") if p.is_file()]
        files = [p for p in files if p.endswith(".py") or _covered(p, data)]
        if files and all(_covered(p, needed) for p in files):
            dirs.add(d)
    top = {d for d in dirs if not any(d != o and d.startswith(o + "/") for o in dirs)}
    return sorted(top | {f for f in needed if not _covered(f, sorted(top))})


if __name__ == "__main__":
    for stage in _stages():
        print(f"{stage}:\n" + "\n".join(f"    - {d}" for d in suggested_deps(stage)))
