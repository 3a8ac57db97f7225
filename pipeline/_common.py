"""What every stage wrapper shares: the params option (loaded into typed config), the path options,
and the one wrapper shape of the ``--input FILE --out DIR`` stages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from codelewm.config import ConfigError, Params, load_params

params_option = click.option(
    "--params",
    "params_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="params.yaml",
    show_default=True,
    help="params.yaml to read (unknown keys are rejected).",
)


def path_option(flag: str, dest: str, help: str | None = None, multiple: bool = False) -> Callable[..., Any]:
    """A required path argument (every path a stage reads or writes is one, and appears in dvc.yaml)."""
    return click.option(flag, dest, type=click.Path(path_type=Path), required=True, multiple=multiple, help=help)


out_option = path_option("--out", "out_dir", help="The stage's output directory.")
input_option = path_option("--input", "input_path", help="The previous stage's rows (Parquet).")


def load(params_path: Path) -> Params:
    try:
        return load_params(params_path)
    except ConfigError as e:
        click.echo(f"error: {params_path}: {e}", err=True)
        sys.exit(2)


def io_stage(run: Callable[[Any, Path, Path], Any], section: str, doc: str | None) -> click.Command:
    """The wrapper of a stage that maps one input file to one output dir: ``run(params.<section>, input,
    out)``."""

    @click.command(help=doc)
    @params_option
    @input_option
    @out_option
    def main(params_path: Path, input_path: Path, out_dir: Path) -> None:
        run(getattr(load(params_path), section), input_path, out_dir)

    return main
