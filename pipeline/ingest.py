"""DVC stage ingest: read the configured source into transitions + quarantine."""

from pathlib import Path

import click

from codelewm.data.ingest import run_ingest
from pipeline._common import load, out_option, params_option


@click.command()
@params_option
@out_option
def main(params_path: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_ingest(p.ingest, out_dir)


if __name__ == "__main__":
    main()
