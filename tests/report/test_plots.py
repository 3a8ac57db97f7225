"""Plot inputs: DVCLive TSVs in both layouts; absent inputs give no plot instead of an empty one."""

from __future__ import annotations

from pathlib import Path

from codelewm.report.plots import order_methods, plot_downstream, plot_energies, read_live_curves
from tests.report.conftest import write_inputs


def test_read_live_curves_both_layouts(tmp_path: Path) -> None:
    live = write_inputs(tmp_path, with_eval=False)["live_dir"]
    curves = read_live_curves(live)
    assert set(curves) == {"main", "control"}
    steps, values = curves["main"]["train/sigreg"]  # timestamp/step/value layout, nested name
    assert steps[:2] == [0.0, 10.0] and values[0] == 2.0
    assert curves["control"]["loss"][1][0] == 1.0  # step/value layout


def test_absent_inputs_draw_nothing(tmp_path: Path) -> None:
    assert read_live_curves(tmp_path / "nope") == {}
    assert plot_energies(tmp_path / "nope.parquet", tmp_path / "e.png") is None
    assert plot_downstream(None, tmp_path / "d.png") is None
    assert not list(tmp_path.glob("*.png"))


def test_method_order() -> None:
    assert order_methods({"random", "zeta", "model", "copy"}) == ["model", "copy", "random", "zeta"]
