"""DVC stage report: render the Markdown report, plots and claims table into reports/."""

from pathlib import Path

import click

from codelewm.report.render import run_report
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option(
    "--metrics-dir",
    "metrics_dirs",
    type=click.Path(path_type=Path),
    multiple=True,
    required=True,
    help="Stage dirs holding metrics.json.",
)
@click.option("--train-metrics", "train_metrics", type=click.Path(path_type=Path), required=True)
@click.option("--live-dir", "live_dir", type=click.Path(path_type=Path), required=True)
@click.option("--eval", "eval_dir", type=click.Path(path_type=Path), required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
def main(
    params_path: Path,
    metrics_dirs: tuple[Path, ...],
    train_metrics: Path,
    live_dir: Path,
    eval_dir: Path,
    out_dir: Path,
) -> None:
    p = load(params_path)
    run_report(p.report, list(metrics_dirs), train_metrics, live_dir, eval_dir, out_dir)


if __name__ == "__main__":
    main()
