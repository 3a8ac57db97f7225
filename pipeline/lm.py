"""DVC stage lm: the naturalness baseline (token n-gram LM on the train split's real code)."""

from pathlib import Path

import click

from codelewm.lm.train import run_lm
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option("--shards", "shards_dir", type=click.Path(path_type=Path), required=True)
@click.option("--tokenizer", "tokenizer_path", type=click.Path(path_type=Path), required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
def main(params_path: Path, shards_dir: Path, tokenizer_path: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_lm(p.lm, shards_dir, tokenizer_path, out_dir)


if __name__ == "__main__":
    main()
