"""Profile pipelines: generated from the root dvc.yaml + params.yaml, never stale, artifacts moved."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from codelewm.config import ConfigError, load_params
from pipeline.profiles import ARTIFACT_ROOTS, main, merge, profile_names, profile_pipeline

REPO = Path(__file__).resolve().parents[1]


def test_committed_profiles_are_in_sync() -> None:
    assert "full" in profile_names(REPO)
    res = CliRunner().invoke(main, ["sync", "--check", "--repo", str(REPO)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("name", profile_names(REPO))
def test_profile_moves_every_artifact_and_keeps_code_deps(name: str) -> None:
    root = yaml.safe_load((REPO / "dvc.yaml").read_text())
    prof = yaml.safe_load((REPO / "profiles" / name / "dvc.yaml").read_text())
    assert set(prof["stages"]) == set(root["stages"])
    for sname, st in prof["stages"].items():
        assert st["wdir"] == "../.."
        assert f"--params profiles/{name}/params.yaml" in st["cmd"]
        assert st["params"] == [{f"profiles/{name}/params.yaml": root["stages"][sname].get("params", [])}]
        paths = [p if isinstance(p, str) else next(iter(p)) for k in ("deps", "outs", "metrics") for p in st.get(k, [])]
        for p in paths:
            assert not p.startswith(tuple(f"{r}/" for r in ARTIFACT_ROOTS)) and p not in ARTIFACT_ROOTS, (sname, p)
        for word in st["cmd"].split():
            assert not word.startswith(tuple(f"{r}/" for r in ARTIFACT_ROOTS)), (sname, word)
            assert word != "dvc.yaml", (sname, "a profile's stages refer to its own pipeline file")
    load_params(REPO / "profiles" / name / "params.yaml")  # typed, every key known


def test_merge_rejects_unknown_keys_and_replaces_leaves() -> None:
    assert merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}
    with pytest.raises(ConfigError, match="a.x"):
        merge({"a": {"b": 1}}, {"a": {"x": 2}})


def test_stale_profile_is_reported(tmp_path: Path) -> None:
    for f in ("dvc.yaml", "params.yaml"):
        (tmp_path / f).write_text((REPO / f).read_text())
    (tmp_path / "profiles" / "p").mkdir(parents=True)
    (tmp_path / "profiles" / "p" / "overrides.yaml").write_text("train: {steps: 7}\n")
    r = CliRunner()
    assert r.invoke(main, ["sync", "--check", "--repo", str(tmp_path)]).exit_code == 1
    assert r.invoke(main, ["sync", "--repo", str(tmp_path)]).exit_code == 0
    assert r.invoke(main, ["sync", "--check", "--repo", str(tmp_path)]).exit_code == 0
    assert load_params(tmp_path / "profiles" / "p" / "params.yaml").train.steps == 7
    (tmp_path / "profiles" / "p" / "overrides.yaml").write_text("train: {stpes: 7}\n")
    res = r.invoke(main, ["sync", "--repo", str(tmp_path)])
    assert res.exit_code == 2 and "train.stpes" in res.output
    pipe = profile_pipeline(yaml.safe_load((REPO / "dvc.yaml").read_text()), "p", "profiles/p/params.yaml")
    assert all(p.startswith("../../runs/p/") for plot in pipe.get("plots", []) for p in plot)
