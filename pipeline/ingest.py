"""DVC stage ingest: read the configured source into transitions + quarantine."""

from pathlib import Path

import click

from codelewm.data.ingest import run_ingest
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Output dir (transitions.parquet, quarantine.parquet).",
)
def main(params_path: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_ingest(p.ingest, out_dir)


if __name__ == "__main__":
    main()
