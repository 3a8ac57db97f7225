from click.testing import CliRunner

from bench.cli import AREAS, main


def test_every_area_benchmark_is_wired() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["--help"])
    assert listed.exit_code == 0
    for name in [*AREAS, "all"]:
        assert name in listed.output
        res = runner.invoke(main, [name, "--help"])
        assert res.exit_code == 0, res.output
    assert runner.invoke(main, ["nope"]).exit_code != 0
