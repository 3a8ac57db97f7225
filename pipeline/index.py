"""DVC stage index: latents of held-out after-states for nearest-neighbour retrieval."""

from pathlib import Path

import click

from codelewm.index.build import run_index
from pipeline._common import load, out_option, params_option, path_option


@click.command()
@params_option
@path_option("--model", "model_dir", help="The trained main model.")
@path_option("--shards", "shards_dir")
@out_option
def main(params_path: Path, model_dir: Path, shards_dir: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_index(p.index, model_dir, shards_dir, out_dir)


if __name__ == "__main__":
    main()
