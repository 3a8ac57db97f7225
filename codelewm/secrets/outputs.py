"""What the pipeline publishes, from DVC's own view of ``dvc.yaml``: the secret-scan stage's scan set.

``dvc push`` uploads every cached output; the outputs with ``cache: false`` (manifests, metrics, the
report, plots) are committed to git and pushed with it. Both are published, so the scan set is every
``out``, ``metric`` and ``plot`` of every stage (read through ``dvc.repo.Repo``, so ``foreach`` /
``matrix`` stages and ``.dvc`` files count too), minus the secret-scan stage's own report. The stage
checks at run time that its ``--scan`` paths cover that set, and a test checks that its ``deps`` and
``cmd`` in ``dvc.yaml`` list exactly it: a new output nobody scans fails both. Each pipeline file scans
its own outputs: a profile's ``dvc.yaml`` (``profiles/<name>/``) has a secret-scan stage of its own.

    python -m codelewm.secrets.outputs     # print the secret-scan stage (cmd + deps) for dvc.yaml
"""

from __future__ import annotations

import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SCAN_STAGE = "secret-scan"
REPORT = "metrics/secret_scan.json"


@dataclass(frozen=True)
class Output:
    path: str  # relative to the repo root, posix
    stage: str
    cached: bool  # True: uploaded by `dvc push`; False: committed to git


def _in_pipeline(stage: object, root: Path, pipeline_file: Path | str) -> bool:
    """Whether a stage is declared in ``pipeline_file`` (a profile's dvc.yaml scans its own outputs)."""
    path = getattr(getattr(stage, "dvcfile", None), "path", None)
    return path is not None and Path(path).resolve() == (root / pipeline_file).resolve()


def published_outputs(repo_root: Path | str = ".", pipeline_file: Path | str = "dvc.yaml") -> list[Output]:
    """Every output of every stage of ``pipeline_file`` (relative to the repo root) except the secret
    scan's own, sorted by path."""
    from dvc.repo import Repo  # heavy import: only when asked

    with Repo(str(repo_root)) as repo:
        root = Path(repo.root_dir)
        outs = []
        for stage in repo.index.stages:
            name = getattr(stage, "name", None) or stage.addressing
            if name == SCAN_STAGE or not _in_pipeline(stage, root, pipeline_file):
                continue
            for out in stage.outs:
                rel = PurePosixPath(Path(os.path.relpath(out.fs_path, root)).as_posix())
                outs.append(Output(str(rel), str(name), bool(out.use_cache)))
    return sorted(outs, key=lambda o: o.path)


def stage_declaration(
    repo_root: Path | str = ".", pipeline_file: Path | str = "dvc.yaml"
) -> tuple[list[str], list[str]]:
    """(deps, --scan paths) of the secret-scan stage as dvc.yaml declares them."""
    import shlex

    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(repo_root)) as repo:
        root = Path(repo.root_dir)
        for stage in repo.index.stages:
            if getattr(stage, "name", None) == SCAN_STAGE and _in_pipeline(stage, root, pipeline_file):
                files = [d for d in stage.deps if not isinstance(d, ParamsDependency)]
                deps = [Path(os.path.relpath(d.fs_path, root)).as_posix() for d in files]
                argv = shlex.split(stage.cmd)
                scans = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--scan"]
                return deps, scans
    raise LookupError(f"no {SCAN_STAGE!r} stage in {repo_root}/dvc.yaml")


def uncovered(scan_paths: list[Path], outputs: list[Output], repo_root: Path | str = ".") -> list[str]:
    """Published outputs that no scan path is, or lies above."""
    root = Path(repo_root).resolve()
    scans = [Path(os.path.abspath(p)) for p in scan_paths]
    missing = []
    for o in outputs:
        target = root / o.path
        if not any(target == s or s in target.parents for s in scans):
            missing.append(o.path)
    return missing


def render_stage(outputs: list[Output]) -> str:
    """The dvc.yaml entry of the secret-scan stage for these outputs."""
    paths = [o.path for o in outputs]
    cmd = " ".join(["python -m pipeline.secret_scan --require-dvc-outputs dvc.yaml", *(f"--scan {p}" for p in paths)])
    lines = [
        f"  {SCAN_STAGE}:",
        "    cmd: " + "\n      ".join(textwrap.wrap(f"{cmd} --out {REPORT}", 110)),
        "    deps:",
    ]
    lines.append(
        "    # + the stage's code deps (checked by tests/test_dvc_deps.py; `python -m tests.test_dvc_deps` lists them)"
    )
    lines += [f"    - {d}" for d in paths]
    lines += ["    params:", "    - secret_scan", "    metrics:", f"    - {REPORT}:", "        cache: false"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_stage(published_outputs(sys.argv[1] if len(sys.argv) > 1 else ".")))
