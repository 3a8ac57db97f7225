"""DVC stage downstream: build the execution-labelled HumanEval rerank problems (eval only)."""

from pathlib import Path

import click

from codelewm.downstream.build import run_downstream
from pipeline._common import load, out_option, params_option


@click.command()
@params_option
@out_option
def main(params_path: Path, out_dir: Path) -> None:
    p = load(params_path)
    run_downstream(p.downstream, out_dir)


if __name__ == "__main__":
    main()
