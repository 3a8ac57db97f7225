"""Bad input never crashes ingest and nothing is lost: kept + quarantined == ingested, per reason."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from codelewm.config import GitSourceConfig, HFSourceConfig, IngestConfig, QualityConfig
from codelewm.data.ingest import run_ingest
from tests.data.sources.gitfixture import commit, init

OLD = "def f(a, b):\n    return a + b\n"
GOOD = {"old_contents": OLD, "new_contents": OLD.replace("+", "-"), "message": "Subtract b from a in f",
        "license": "MIT", "repos": "o/r", "old_file": "x.py", "new_file": "x.py"}  # fmt: skip

BAD_ROWS = {  # expected reason -> row
    "missing_before": {**GOOD, "old_contents": None},
    "missing_message": {**GOOD, "message": None},
    "missing_repo": {**GOOD, "repos": None},
    "binary_file": {**GOOD, "new_contents": "def f():\x00\n"},
    "invalid_python": {**GOOD, "new_contents": "def f(a, b:\n    return\n"},
    "identical": {**GOOD, "new_contents": OLD},
    "empty_diff": {**GOOD, "new_contents": OLD.replace("\n", "   \n")},
    "file_too_large": {**GOOD, "old_contents": OLD + "#" * 300_000},
    "skip_message": {**GOOD, "message": "Merge branch 'dev' into main"},
    "skip_path": {**GOOD, "new_file": "vendor/x.py"},
    "no_changed_symbol": {**GOOD, "new_contents": OLD + "\nX = 1\n"},
}


def _check(m: dict, expected: dict[str, int], kept: int) -> None:
    assert m["in"] == m["kept"] + sum(m["dropped"].values())
    assert m["kept"] == kept
    assert m["dropped"] == expected
    assert m["source_stats"]["rows_read"] == m["in"]  # one event per row: every row accounted for


def test_hf_jsonl_with_bad_rows(tmp_path: Path) -> None:
    lines = [json.dumps(GOOD)] + [json.dumps(r) for r in BAD_ROWS.values()]
    lines += ["{not json", "[1, 2]"]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"message": "\xff\xfe bad utf8"}\n')
    m = run_ingest(IngestConfig(source="hf", hf=HFSourceConfig(data_files=(str(path),))), tmp_path / "o")
    expected = {k: 1 for k in BAD_ROWS} | {"invalid_json": 2, "invalid_row": 1}
    _check(m, expected, kept=1)
    q = pq.read_table(tmp_path / "o" / "quarantine.parquet").to_pylist()
    assert len(q) == sum(expected.values()) and all(r["payload"] for r in q)


def test_hf_parquet_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    rows = [GOOD, *BAD_ROWS.values()]
    pq.write_table(pa.Table.from_pylist(rows), path)
    m = run_ingest(IngestConfig(source="hf", hf=HFSourceConfig(data_files=(str(path),))), tmp_path / "o")
    _check(m, {k: 1 for k in BAD_ROWS}, kept=1)


def test_git_repo_with_bad_files(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    files: dict[str, str | bytes] = {
        "good.py": OLD,
        "latin.py": b"def f():\n    return '\xe9'\n",
        "bin.py": b"def f():\n    return 1\n\x00\x01",
        "broken.py": "def f():\n    return 1\n",
        "huge.py": "def f():\n    return 1\n" + "#" * 300_000 + "\n",
    }
    commit(repo, files, "Add the initial modules")
    changed: dict[str, str | bytes] = {
        "good.py": OLD.replace("+", "-"),
        "latin.py": b"def f():\n    return '\xe8'\n",
        "bin.py": b"def f():\n    return 2\n\x00\x02",
        "broken.py": "def f(:\n    return 2\n",
        "huge.py": "def f():\n    return 2\n" + "#" * 300_000 + "\n",
        "new.py": "def added():\n    return 0\n",  # added file: not an edit, counted in stats
    }
    commit(repo, changed, "Change every module at once")
    cfg = IngestConfig(source="git", git=GitSourceConfig(repo=str(repo), license="MIT"), quality=QualityConfig())
    m = run_ingest(cfg, tmp_path / "o")
    assert m["in"] == m["kept"] + sum(m["dropped"].values()) == m["source_stats"]["files_changed"] == 5
    assert m["kept"] == 1
    assert m["dropped"] == {"non_utf8": 1, "binary_file": 1, "invalid_python": 1, "file_too_large": 1}
    assert m["source_stats"]["files_added_or_deleted"] == 6  # first commit's 5 + new.py
