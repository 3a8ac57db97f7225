"""DVC stage secret-scan: scan every publishable artifact; any finding fails the pipeline."""

import sys
from pathlib import Path

import click

from codelewm.secrets.scan import run_secret_scan
from pipeline._common import load, params_option, path_option


@click.command()
@params_option
@path_option("--scan", "scan_paths", multiple=True)
@path_option("--out", "out_path", help="Findings report JSON (no secret values).")
def main(params_path: Path, scan_paths: tuple[Path, ...], out_path: Path) -> None:
    p = load(params_path)
    findings = run_secret_scan(p.secret_scan, list(scan_paths), out_path)
    if findings:
        click.echo(f"secret-scan: {findings} finding(s); see {out_path} (values redacted)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
