"""DVC stage dedup: exact + MinHash-LSH near-dup removal, benchmark-overlap removal, group split."""

from pathlib import Path

import click

from codelewm.data.dedup import run_dedup
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option("--input", "input_path", type=click.Path(path_type=Path), required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
def main(params_path: Path, input_path: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_dedup(p.dedup, input_path, out_dir)


if __name__ == "__main__":
    main()
