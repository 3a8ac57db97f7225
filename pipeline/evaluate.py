"""DVC stage evaluate: retrieval (global + sibling pools), controls, surprise, probe, downstream rerank."""

from pathlib import Path

import click

from codelewm.eval.run import run_evaluate
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option("--model", "model_dir", type=click.Path(path_type=Path), required=True)
@click.option(
    "--control", "control_dir", type=click.Path(path_type=Path), required=True, help="The trained no-action model."
)
@click.option("--lm", "lm_dir", type=click.Path(path_type=Path), required=True, help="The naturalness LM.")
@click.option("--shards", "shards_dir", type=click.Path(path_type=Path), required=True)
@click.option("--index", "index_dir", type=click.Path(path_type=Path), required=True)
@click.option("--downstream", "downstream_dir", type=click.Path(path_type=Path), required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
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
