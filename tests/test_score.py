import difflib

import pytest

from codelewm.score import CandidateError, InputError, ModelLoadError, Scorer
from tests.fixtures.world import build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_world(tmp_path_factory.mktemp("score"))


def _diff(a: str, b: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a", "b"))


def test_missing_model_fails_loudly(tmp_path) -> None:
    with pytest.raises(ModelLoadError):
        Scorer.load(tmp_path / "absent")


def test_files_and_diffs_score_identically(world: dict) -> None:
    sc = Scorer.load(world["main"])
    sibs = [t for t in world["transitions"] if t["before_key"] == "base3"]
    before, instr = sibs[0]["before_file"], sibs[0]["instruction"]
    files = [t["after_file"] for t in sibs]
    e_files = sc.score(before, instr, files)
    e_diffs = sc.score(before, instr, [_diff(before, f) for f in files], diffs=True)
    assert len(e_files) == len(files) and e_files == pytest.approx(e_diffs)
    assert all(e >= 0 for e in e_files)
    ranked = sc.rerank(before, instr, files)
    assert [r["energy"] for r in ranked] == sorted(e_files) and ranked[0]["rank"] == 1


def test_noop_candidate_is_scored_not_skipped(world: dict) -> None:
    sc = Scorer.load(world["main"])
    t = world["transitions"][12]
    e = sc.score(t["before_file"], t["instruction"], [t["after_file"], t["before_file"]])
    assert len(e) == 2


def test_bad_candidates_are_named(world: dict) -> None:
    sc = Scorer.load(world["main"])
    t = world["transitions"][12]
    with pytest.raises(CandidateError, match="cand-b"):
        sc.score(
            t["before_file"],
            t["instruction"],
            ["--- a\n+++ b\n@@ -1,1 +1,1 @@\n-nope\n+x\n"] * 2,
            diffs=True,
            names=["cand-a", "cand-b"][::-1],
        )
    with pytest.raises(CandidateError):
        sc.score(t["before_file"], t["instruction"], [t["after_file"], "def broken(:\n"], symbol=t["symbol"])
    with pytest.raises(InputError):
        sc.score(t["before_file"], "  ", [t["after_file"]])


def test_score_rows_matches_model_energy(world: dict) -> None:
    import torch

    from codelewm.model.infer import encode_after, energy, predict_after

    sc = Scorer.load(world["main"])
    rows = [r for r in world["rows"] if r["split"] == "test"][:5]
    want = torch.diagonal(energy(predict_after(sc.lm, rows), encode_after(sc.lm, rows)))
    assert sc.score_rows(rows) == pytest.approx(want.tolist(), rel=1e-3, abs=1e-6)
