"""The data stages create no reference cycles per row, so they may run with the cyclic GC paused.

``rowio.paused_gc`` switches the automatic cyclic GC off for ingest, dedup and extract (with a
safety-net collection every ``collect_every`` rows). That keeps memory bounded only if the per-row
code, failure paths included, leaves no cyclic garbage: here the cyclic garbage a stage leaves must
not grow when the same mix of good and bad rows is repeated.
"""

from __future__ import annotations

import gc
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codelewm.config import DedupConfig, ExtractConfig, GitSourceConfig, HFSourceConfig, IngestConfig
from codelewm.data.dedup import run_dedup
from codelewm.data.extract import run_extract
from codelewm.data.ingest import run_ingest
from codelewm.records import stable_id
from tests.data.datafixtures import MODULE, make_rows, write_rows
from tests.data.sources.gitfixture import commit, init
from tests.data.test_bad_input import BAD_ROWS, GOOD, OLD

BIG = MODULE + "\n\ndef big(n):\n" + "".join(f"    n = n * {i} + {i + 1}\n" for i in range(300)) + "    return n\n"


def _cyclic_garbage(run: Callable[[], object]) -> int:
    """Objects the cyclic GC frees during and right after ``run``: the cyclic garbage it left."""
    gc.collect()
    freed: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            freed.append(info["collected"])

    gc.callbacks.append(count)
    try:
        run()
        gc.collect()
    finally:
        gc.callbacks.remove(count)
    return sum(freed)


def test_ingest_bad_rows_leave_no_cycles(tmp_path: Path) -> None:
    def run(copies: int) -> int:
        rows = [GOOD, *BAD_ROWS.values()] * copies
        path = tmp_path / f"rows{copies}.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n" * copies)
        cfg = IngestConfig(source="hf", hf=HFSourceConfig(data_files=(str(path),)))
        shutil.rmtree(tmp_path / f"o{copies}", ignore_errors=True)
        return _cyclic_garbage(lambda: run_ingest(cfg, tmp_path / f"o{copies}"))

    run(1)  # warm-up: first-use imports and caches may leave one-off cycles
    assert run(1) == run(4)


def test_git_ingest_leaves_no_cycles(tmp_path: Path) -> None:
    def run(n_commits: int) -> int:
        repo = init(tmp_path / f"r{n_commits}")
        commit(repo, {"m.py": OLD, "broken.py": "def f():\n    return 0\n"}, "Add the modules")
        for i in range(n_commits):  # one good edit and one unparsable file per commit
            commit(repo, {"m.py": OLD.replace("a + b", f"a + b + {i}"), "broken.py": f"def f(:\n    return {i}\n"},
                   f"Offset the sum by {i} in f")  # fmt: skip
        cfg = IngestConfig(source="git", git=GitSourceConfig(repo=str(repo), license="MIT"))
        return _cyclic_garbage(lambda: run_ingest(cfg, tmp_path / f"o{n_commits}"))

    run(2)  # warm-up: first-use imports may leave one-off cycles
    assert run(1) == run(4)


def _rows(n_repos: int) -> list[dict[str, Any]]:
    """Good rows plus one row per extract failure, ``n_repos`` times over."""
    rows = make_rows(n_repos)
    for r, split in zip(rows, ["train", "train", "val", "test"] * len(rows)):
        r["split"] = split
    bad = []
    for k, base in enumerate(rows[:: len(rows) // n_repos]):
        uniq = f"\n\nK{k} = {k}\n"  # distinct files per copy: no cache serves a later copy
        bad += [
            dict(base, before_file=base["before_file"] + uniq + "def broken(:\n"),  # unparsable
            dict(base, symbol="nope"),  # symbol_not_found
            dict(base, after_file=base["before_file"]),  # no change
            dict(base, split=""),  # unassigned split
            dict(base, symbol="big", before_file=BIG + uniq, after_file=BIG.replace("n * 7 ", "n * 8 ") + uniq),
        ]
    for i, r in enumerate(bad):
        r["id"] = stable_id("bad", str(i), r["id"])
    return rows + bad


def test_extract_failures_leave_no_cycles(tmp_path: Path) -> None:
    cfg = ExtractConfig(vocab_size=400, min_frequency=1, max_state_tokens=320)

    def run(n_repos: int) -> int:
        src = write_rows(tmp_path / f"in{n_repos}" / "transitions.parquet", _rows(n_repos))
        shutil.rmtree(tmp_path / f"out{n_repos}", ignore_errors=True)
        metrics: dict[str, Any] = {}
        garbage = _cyclic_garbage(lambda: metrics.update(run_extract(cfg, src, tmp_path / f"out{n_repos}")))
        assert {"unparsable", "symbol_not_found", "no_state_change", "unassigned_split", "state_too_long"} <= set(
            metrics["dropped"]
        )
        return garbage

    run(2)  # warm-up: first-use imports and caches may leave one-off cycles
    assert run(1) == run(3)


def test_dedup_leaves_no_cycles(tmp_path: Path) -> None:
    def run(n_repos: int) -> int:
        src = write_rows(tmp_path / f"in{n_repos}" / "transitions.parquet", _rows(n_repos))
        shutil.rmtree(tmp_path / f"out{n_repos}", ignore_errors=True)
        return _cyclic_garbage(lambda: run_dedup(DedupConfig(), src, tmp_path / f"out{n_repos}"))

    run(2)  # warm-up: first-use imports and caches may leave one-off cycles
    assert run(1) == run(3)
