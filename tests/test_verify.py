"""`codelewm verify`: manifests (missing, changed, extra, unsafe), the parent chain up to params hashes,
the dvc.lock anchor, and what an attacker who rewrites one manifest can and cannot hide."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from codelewm.cli import main
from codelewm.stageio import Stage, sha256_file
from codelewm.verify import dvc_hash, verify


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A three-stage chain a -> b -> c written by stageio (parents relative to the root), and a dvc.lock."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    for name, parent in (("a", None), ("b", "a"), ("c", "b")):
        d = Path("data") / name
        parents = [Path("data") / parent / "rows.bin"] if parent else []
        with Stage(name, d, params={"k": ord(name)}, parents=parents, metrics=None) as st:
            st.output("rows.bin").write_bytes(bytes(range(64)) * (ord(name) - 96))
            part = st.output("part")
            part.mkdir()
            (part / "x.json").write_text(json.dumps({"stage": name}))
        if name == "b":
            (d / "metrics.json").write_text('{"n": 1}\n')  # a file the manifest does not list; dvc.lock does
    _write_lock(tmp_path)
    return tmp_path


def _write_lock(root: Path) -> None:
    outs = {}
    for name in "abc":
        d = root / "data" / name
        outs[name] = {
            "outs": [
                {"path": f"data/{name}/{p}", "hash": "md5", "md5": dvc_hash(d / p)}
                for p in ("rows.bin", "part", "manifest.json", "metrics.json")
                if (d / p).exists()
            ]
        }
    (root / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": outs}))


def _kinds(root: Path, *dirs: str, **kw: object) -> set[tuple[str, str]]:
    r = verify([root / d for d in dirs], **kw)  # type: ignore[arg-type]
    return {(p.kind, p.path) for p in r.problems}


def _edit(manifest: Path, fn) -> None:  # noqa: ANN001
    m = json.loads(manifest.read_text())
    fn(m)
    manifest.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


def _rehash(manifest: Path, rel: str) -> None:
    """What an attacker does after changing a file: make the manifest agree with it."""
    f = manifest.parent / rel
    _edit(manifest, lambda m: m["files"].update({rel: {"sha256": sha256_file(f), "bytes": f.stat().st_size}}))


def test_intact_chain_verifies(repo: Path) -> None:
    r = verify([repo / "data"])
    assert r.ok, r.problems
    assert r.manifests == ["data/a/manifest.json", "data/b/manifest.json", "data/c/manifest.json"]
    assert set(r.anchored) == set(r.manifests) and r.unanchored == []


def test_extra_missing_and_changed_files(repo: Path) -> None:
    (repo / "data/a/part/new.txt").write_text("x")
    (repo / "data/b/rows.bin").unlink()
    (repo / "data/c/part/x.json").write_text('{"stage": "C"}')
    got = _kinds(repo, "data", use_lock=False)
    assert {("extra", "data/a/part/new.txt"), ("missing", "data/b/rows.bin"), ("changed", "data/c/part/x.json")} <= got


def test_dropped_manifest_entry_is_caught(repo: Path) -> None:
    _edit(repo / "data/a/manifest.json", lambda m: m["files"].pop("part/x.json"))
    got = _kinds(repo, "data/a", "data/b", use_lock=False)
    assert ("extra", "data/a/part/x.json") in got  # the file is still there, now unlisted
    assert ("parent-changed", "data/a/manifest.json") in got  # and b's record of a's manifest no longer holds


def test_dropped_entry_and_file_is_caught_by_the_chain(repo: Path) -> None:
    _edit(repo / "data/a/manifest.json", lambda m: m["files"].pop("part/x.json"))
    (repo / "data/a/part/x.json").unlink()
    assert ("parent-changed", "data/a/manifest.json") in _kinds(repo, "data/b", use_lock=False)


def test_flipped_byte_with_rehashed_manifest_is_caught_by_the_child(repo: Path) -> None:
    f = repo / "data/a/rows.bin"
    data = bytearray(f.read_bytes())
    data[10] ^= 1
    f.write_bytes(bytes(data))
    _rehash(repo / "data/a/manifest.json", "rows.bin")
    no_lock = _kinds(repo, "data/a", use_lock=False)  # a alone looks consistent ...
    assert no_lock == set()
    # ... but verifying anything downstream walks the chain up to a, and dvc.lock records a's outputs
    assert ("parent-changed", "data/a/manifest.json") in _kinds(repo, "data/c", use_lock=False)
    with_lock = _kinds(repo, "data/a")
    assert {("lock-mismatch", "data/a/rows.bin"), ("lock-mismatch", "data/a/manifest.json")} <= with_lock


def test_rewritten_leaf_is_caught_only_by_the_lock(repo: Path) -> None:
    """The documented limit: nobody records a leaf's manifest, so without dvc.lock a consistent rewrite of
    a leaf passes, flagged as unanchored; with dvc.lock it fails."""
    (repo / "data/c/rows.bin").write_bytes(b"replaced")
    _rehash(repo / "data/c/manifest.json", "rows.bin")
    r = verify([repo / "data/c"], use_lock=False)
    assert r.ok and r.unanchored == ["data/c/manifest.json"]
    assert not verify([repo / "data/c"]).ok


def test_params_hash_and_parent_problems(repo: Path) -> None:
    _edit(repo / "data/a/manifest.json", lambda m: m["params"].update({"k": 0}))
    _edit(repo / "data/c/manifest.json", lambda m: m["parents"].update({"data/zz/manifest.json": "0" * 64}))
    got = _kinds(repo, "data/c", use_lock=False)
    assert ("params-hash", "data/a/manifest.json") in got  # found by walking c -> b -> a
    assert ("parent-missing", "data/zz/manifest.json") in got


def test_unsafe_path_malformed_and_uncovered(repo: Path) -> None:
    _edit(repo / "data/a/manifest.json", lambda m: m["files"].update({"../b/rows.bin": {"sha256": "x", "bytes": 1}}))
    (repo / "data/b/manifest.json").write_text("{not json")
    (repo / "data/stray.txt").write_text("who wrote me?")
    got = _kinds(repo, "data", use_lock=False)
    assert {
        ("unsafe-path", "../b/rows.bin"),
        ("malformed", "data/b/manifest.json"),
        ("uncovered", "data/stray.txt"),
    } <= got


def test_unlisted_file_needs_the_lock(repo: Path) -> None:
    # metrics.json is not in some stage manifests (dedup/extract/pack today): dvc.lock vouches for it
    assert verify([repo / "data/b"]).ok
    assert ("extra", "data/b/metrics.json") in _kinds(repo, "data/b", use_lock=False)
    (repo / "data/b/metrics.json").write_text('{"n": 2}\n')
    assert ("lock-mismatch", "data/b/metrics.json") in _kinds(repo, "data/b")


def test_cli_exit_codes_and_report(repo: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", "data"])
    assert ok.exit_code == 0 and "verified: 3 manifest(s)" in ok.output and "[dvc.lock]" in ok.output
    (repo / "data/b/part/x.json").write_text("{}")
    bad = runner.invoke(main, ["verify", "--json", "data/b"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert not report["ok"] and {"changed", "lock-mismatch"} <= {p["kind"] for p in report["problems"]}
    assert runner.invoke(main, ["verify", "nowhere"]).exit_code == 2
    (repo / "empty").mkdir()
    assert runner.invoke(main, ["verify", "empty"]).exit_code == 2


def test_dvc_hash_is_dvcs_own(tmp_path: Path) -> None:
    """The lock anchor hashes outputs as DVC does: compare with `dvc add` on a file and a directory."""
    dvc = Path(sys.executable).with_name("dvc")
    if not dvc.exists():
        pytest.skip("dvc not installed next to the interpreter")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("alpha\r\n")
    (tmp_path / "d" / "sub" / "b.bin").write_bytes(bytes(range(256)))
    (tmp_path / "f.txt").write_text("file\n")
    subprocess.run([str(dvc), "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    for target in ("d", "f.txt"):
        subprocess.run([str(dvc), "add", "-q", target], cwd=tmp_path, check=True)
        recorded = yaml.safe_load((tmp_path / f"{target}.dvc").read_text())["outs"][0]["md5"]
        shutil.rmtree(tmp_path / ".dvc" / "cache", ignore_errors=True)
        assert dvc_hash(tmp_path / target) == recorded
