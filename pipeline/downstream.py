"""DVC stage downstream: build the execution-labelled HumanEval rerank problems (eval only)."""

from pathlib import Path

import click

from codelewm.downstream.build import run_downstream
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
def main(params_path: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_downstream(p.downstream, out_dir)


if __name__ == "__main__":
    main()
