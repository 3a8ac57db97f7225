"""Shared option for every stage wrapper: the params file, loaded into typed config."""

from __future__ import annotations

import sys
from pathlib import Path

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


def load(params_path: Path) -> Params:
    try:
        return load_params(params_path)
    except ConfigError as e:
        click.echo(f"error: {params_path}: {e}", err=True)
        sys.exit(2)
