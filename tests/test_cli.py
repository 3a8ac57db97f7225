import difflib
import json

import pytest
from click.testing import CliRunner

from codelewm.cli import main
from tests.fixtures.world import build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    w = build_world(tmp_path_factory.mktemp("cli"))
    d = w["dir"]
    sibs = [t for t in w["transitions"] if t["before_key"] == "base4"]
    (d / "before.py").write_text(sibs[0]["before_file"])
    for i, t in enumerate(sibs):
        (d / f"cand{i}.py").write_text(t["after_file"])
        diff = difflib.unified_diff(t["before_file"].splitlines(True), t["after_file"].splitlines(True), "a", "b")
        (d / f"cand{i}.diff").write_text("".join(diff))
    (d / "bad.diff").write_text("--- a\n+++ b\n@@ -1,1 +1,1 @@\n-this line is not there\n+x\n")
    w["instruction"] = sibs[0]["instruction"]
    w["n"] = len(sibs)
    return w


def _run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_help_documents_exit_codes() -> None:
    for cmd in ([], ["score"], ["rerank"], ["index", "query"]):
        out = _run(*cmd, "--help").output
        assert "Exit codes" in out and "3 model missing" in out and "4 candidate" in out


def test_missing_model_exits_3(world: dict, tmp_path) -> None:
    d = world["dir"]
    r = _run(
        "score",
        "--model",
        tmp_path / "none",
        "--before",
        d / "before.py",
        "--instruction",
        "x y",
        "--candidate",
        d / "cand0.py",
    )
    assert r.exit_code == 3 and "no trained model" in r.output


def test_bad_diff_exits_4_and_names_it(world: dict) -> None:
    d = world["dir"]
    r = _run(
        "rerank",
        "--model",
        world["main"],
        "--before",
        d / "before.py",
        "--instruction",
        world["instruction"],
        "--diff",
        d / "cand0.diff",
        "--diff",
        d / "bad.diff",
    )
    assert r.exit_code == 4 and "bad.diff" in r.output


def test_usage_errors_exit_2(world: dict) -> None:
    d = world["dir"]
    assert _run("rerank", "--model", world["main"], "--before", d / "before.py").exit_code == 2
    r = _run(
        "rerank",
        "--model",
        world["main"],
        "--before",
        d / "before.py",
        "--instruction",
        "x",
        "--candidate",
        d / "cand0.py",
        "--diff",
        d / "cand0.diff",
    )
    assert r.exit_code == 2
    (d / "bad.jsonl").write_text("{not json\n")
    assert _run("rerank", "--model", world["main"], "--problems", d / "bad.jsonl").exit_code == 2


def test_rerank_files_and_diffs_json(world: dict) -> None:
    d = world["dir"]
    base = ["--model", world["main"], "--before", d / "before.py", "--instruction", world["instruction"], "--json"]
    r1 = _run("rerank", *base, *sum((["--candidate", d / f"cand{i}.py"] for i in range(world["n"])), []))
    r2 = _run("rerank", *base, *sum((["--diff", d / f"cand{i}.diff"] for i in range(world["n"])), []))
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a, b = json.loads(r1.output)["ranking"], json.loads(r2.output)["ranking"]
    assert [x["index"] for x in a] == [x["index"] for x in b]
    assert [x["energy"] for x in a] == sorted(x["energy"] for x in a)
    s = _run("score", *base, "--candidate", d / "cand1.py")
    assert s.exit_code == 0 and len(json.loads(s.output)["energies"]) == 1


def test_rerank_jsonl(world: dict) -> None:
    d = world["dir"]
    out = d / "ranked.jsonl"
    r = _run(
        "rerank", "--model", world["main"], "--problems", world["dir"] / "downstream" / "problems.jsonl", "--out", out
    )
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == len(world["transitions"])
    assert all(len(x["ranking"]) == len(x["energies"]) for x in lines)


def test_index_query(world: dict) -> None:
    from codelewm.config import IndexConfig
    from codelewm.index.build import run_index

    d = world["dir"]
    run_index(IndexConfig(), world["main"], world["shards"], d / "index")
    r = _run(
        "index",
        "query",
        "--index",
        d / "index",
        "--model",
        world["main"],
        "--before",
        d / "before.py",
        "--instruction",
        world["instruction"],
        "--k",
        "3",
        "--json",
    )
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    r = _run(
        "index",
        "query",
        "--index",
        d / "index",
        "--model",
        world["control"],
        "--before",
        d / "before.py",
        "--instruction",
        world["instruction"],
    )
    assert r.exit_code == 2 and "different model" in r.output
