import dataclasses
from pathlib import Path

import pytest

from codelewm.config import ConfigError, Params, load_params, params_hash

ROOT = Path(__file__).resolve().parents[1]


def test_repo_params_load_and_match_defaults() -> None:
    p = load_params(ROOT / "params.yaml")
    assert p.model.action in ("text", "abstract", "none")
    assert p.ingest.synthetic.siblings >= 2


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "params.yaml"
    f.write_text("model:\n  acton: text\n")
    with pytest.raises(ConfigError, match="model.acton"):
        load_params(f)


def test_wrong_type_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "params.yaml"
    f.write_text("train:\n  steps: many\n")
    with pytest.raises(ConfigError, match="train.steps"):
        load_params(f)


def test_invalid_action_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "params.yaml"
    f.write_text("model:\n  action: diff\n")
    with pytest.raises(ConfigError, match="model.action"):
        load_params(f)


def test_configs_are_frozen_and_hash_stable() -> None:
    p = Params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.train.steps = 3  # type: ignore[misc]
    assert params_hash(p.train) == params_hash(Params().train)


def test_params_yaml_restates_the_defaults() -> None:
    """Defaults live in config.py; params.yaml must restate them exactly (no drift)."""
    from codelewm.config import to_dict

    assert to_dict(load_params(ROOT / "params.yaml")) == to_dict(Params())
