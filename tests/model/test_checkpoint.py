"""A tampered checkpoint is refused: NaN/inf weights or an unexpected dtype raise ModelLoadError (CLI exit
3), and no energy that is not a finite number is ever printed (NaN is not JSON)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from codelewm.cli import main
from codelewm.model.checkpoint import ModelLoadError, load_checkpoint
from tests.fixtures.world import make_checkpoint, make_tokenizer, sibling_transitions


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    d = tmp_path_factory.mktemp("ckpt")
    t = sibling_transitions()
    tok = make_tokenizer(
        [x["before_file"] for x in t] + [x["after_file"] for x in t] + [x["instruction"] for x in t], d / "tok.json"
    )
    model = make_checkpoint(d / "main", tok)
    sib = [x for x in t if x["before_key"] == t[0]["before_key"]]
    (d / "before.py").write_text(sib[0]["before_file"])
    for i, x in enumerate(sib[:3]):
        (d / f"c{i}.py").write_text(x["after_file"])
    return {"dir": d, "model": model, "instruction": sib[0]["instruction"]}


def _tampered(good: dict, tmp_path: Path, edit) -> Path:  # noqa: ANN001
    dst = tmp_path / "model"
    shutil.copytree(good["model"], dst)
    w = load_file(str(dst / "model.safetensors"))
    edit(w)
    save_file(w, str(dst / "model.safetensors"))
    return dst


def _first_float(w: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in w.items() if v.is_floating_point() and v.numel() > 1)


EDITS = {
    "nan": lambda w: w[_first_float(w)].view(-1).__setitem__(0, float("nan")),
    "inf": lambda w: w[_first_float(w)].view(-1).__setitem__(1, float("inf")),
    "int32": lambda w: w.update({_first_float(w): w[_first_float(w)].to(torch.int32)}),
    "float64": lambda w: w.update({_first_float(w): w[_first_float(w)].to(torch.float64)}),
}


@pytest.mark.parametrize("how", sorted(EDITS))
def test_tampered_weights_are_refused(good: dict, tmp_path: Path, how: str) -> None:
    d = _tampered(good, tmp_path, EDITS[how])
    with pytest.raises(ModelLoadError, match="NaN or infinite" if how in ("nan", "inf") else "dtype"):
        load_checkpoint(d)


def _score(model: Path, good: dict) -> tuple[int, str]:
    d = good["dir"]
    args = ["score", "--json", "--model", str(model), "--before", str(d / "before.py")]
    args += ["--instruction", good["instruction"]]
    for i in range(3):
        args += ["--candidate", str(d / f"c{i}.py")]
    r = CliRunner().invoke(main, args)
    return r.exit_code, r.output


def test_score_json_exits_3_on_tampered_weights(good: dict, tmp_path: Path) -> None:
    code, out = _score(_tampered(good, tmp_path, EDITS["nan"]), good)
    assert code == 3 and "NaN or infinite" in out and "energies" not in out


def test_score_json_never_prints_a_non_finite_energy(good: dict, tmp_path: Path) -> None:
    """Finite but huge weights overflow to inf/NaN energies: exit 3, not an invalid JSON document."""

    def blow_up(w: dict[str, torch.Tensor]) -> None:
        for k, v in w.items():
            if v.is_floating_point():
                w[k] = torch.full_like(v, 3e38)

    code, out = _score(_tampered(good, tmp_path, blow_up), good)
    assert code == 3 and "non-finite energy" in out
    assert "NaN" not in out and "Infinity" not in out


def test_intact_model_scores(good: dict) -> None:
    code, out = _score(good["model"], good)
    assert code == 0 and '"energies"' in out
