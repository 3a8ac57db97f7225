"""DVC stage secret-scan: scan every publishable artifact; any finding fails the pipeline."""

import sys
from pathlib import Path

import click

from codelewm.secrets.scan import run_secret_scan
from pipeline._common import load, params_option


@click.command()
@params_option
@click.option("--scan", "scan_paths", type=click.Path(path_type=Path), multiple=True, required=True)
@click.option(
    "--out", "out_path", type=click.Path(path_type=Path), required=True, help="Findings report JSON (no secret values)."
)
def main(params_path: Path, scan_paths: tuple[Path, ...], out_path: Path) -> None:
    p = load(params_path)
    findings = run_secret_scan(p.secret_scan, list(scan_paths), out_path)
    if findings:
        click.echo(f"secret-scan: {findings} finding(s); see {out_path} (values redacted)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
