"""DVC stage report: render the Markdown report, plots and claims table into reports/."""

from pathlib import Path

import click

from codelewm.report.render import run_report
from pipeline._common import load, out_option, params_option, path_option


@click.command()
@params_option
@path_option("--metrics-dir", "metrics_dirs", help="Stage dirs holding metrics.json.", multiple=True)
@path_option("--train-metrics", "train_metrics")
@path_option("--live-dir", "live_dir")
@path_option("--eval", "eval_dir")
@out_option
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
