"""DVC stage pack: deterministic Parquet shards per split + the pipeline-wide accounting check."""

from pathlib import Path

import click

from codelewm.data.pack import run_pack
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option("--input", "input_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--upstream",
    "upstream_metrics",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Upstream stage metrics.json (funnel).",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
def main(params_path: Path, input_path: Path, upstream_metrics: tuple[Path, ...], out_dir: Path) -> None:
    p = load(params_path)
    run_pack(p.pack, input_path, list(upstream_metrics), out_dir)


if __name__ == "__main__":
    main()
