"""DVC stage train: the JEPA transition model (and the no-action control), safetensors checkpoints."""

from pathlib import Path

import click

from codelewm.train.run import run_train
from pipeline._common import load, params_option, path_option


@click.command()
@params_option
@path_option("--shards", "shards_dir")
@path_option("--tokenizer", "tokenizer_path")
@path_option("--out", "out_dir", help="models dir: main/ and control/ checkpoints.")
@path_option("--metrics", "metrics_path")
@path_option("--live-dir", "live_dir", help="DVCLive dir for curves.")
def main(
    params_path: Path, shards_dir: Path, tokenizer_path: Path, out_dir: Path, metrics_path: Path, live_dir: Path
) -> None:
    p = load(params_path)
    run_train(p.model, p.train, p.extract, shards_dir, tokenizer_path, out_dir, metrics_path, live_dir)


if __name__ == "__main__":
    main()
