"""DVC stage secret-scan: scan every published artifact; any finding or unscannable file fails the pipeline.

With ``--require-dvc-outputs`` the stage first checks, against DVC's own view of ``dvc.yaml``, that its
``--scan`` paths cover every output of every other stage (``codelewm.secrets.outputs``): a new output
that nobody scans stops the pipeline (exit 2) instead of being pushed unread.
"""

import sys
from pathlib import Path

import click

from codelewm.secrets.scan import run_secret_scan
from pipeline._common import load, params_option, path_option


@click.command()
@params_option
@path_option("--scan", "scan_paths", multiple=True)
@path_option("--out", "out_path", help="Findings report JSON (no secret values).")
@click.option(
    "--require-dvc-outputs",
    "pipeline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fail unless the --scan paths cover every output of every stage of this dvc.yaml.",
)
def main(params_path: Path, scan_paths: tuple[Path, ...], out_path: Path, pipeline_file: Path | None) -> None:
    p = load(params_path)
    if pipeline_file is not None:
        from codelewm.secrets.outputs import published_outputs, render_stage, uncovered

        outputs = published_outputs(".", pipeline_file)
        missing = uncovered(list(scan_paths), outputs, ".")
        if missing:
            click.echo(f"secret-scan: outputs not scanned: {', '.join(missing)}", err=True)
            click.echo("secret-scan: dvc.yaml's stage should read:\n" + render_stage(outputs), err=True)
            sys.exit(2)
    findings = run_secret_scan(p.secret_scan, list(scan_paths), out_path)
    if findings:
        click.echo(f"secret-scan: {findings} finding(s); see {out_path} (values redacted)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
