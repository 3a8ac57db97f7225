"""DVC stage evaluate: retrieval (global + sibling pools), controls, surprise, probe, downstream rerank."""

from pathlib import Path

import click

from codelewm.eval.run import run_evaluate
from pipeline._common import load, out_option, params_option, path_option


@click.command()
@params_option
@path_option("--model", "model_dir", help="The trained main model.")
@path_option("--control", "control_dir", help="The trained no-action model.")
@path_option("--lm", "lm_dir", help="The naturalness language model (lm stage).")
@path_option("--shards", "shards_dir")
@path_option("--index", "index_dir")
@path_option("--downstream", "downstream_dir")
@out_option
def main(
    params_path: Path,
    model_dir: Path,
    control_dir: Path,
    lm_dir: Path,
    shards_dir: Path,
    index_dir: Path,
    downstream_dir: Path,
    out_dir: Path,
) -> None:
    p = load(params_path)
    run_evaluate(
        p.evaluate, p.downstream, model_dir, control_dir, lm_dir, shards_dir, index_dir, downstream_dir, out_dir
    )


if __name__ == "__main__":
    main()
