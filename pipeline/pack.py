"""DVC stage pack: deterministic Parquet shards per split + the pipeline-wide accounting check."""

from pathlib import Path

import click

from codelewm.data.pack import run_pack
from pipeline._common import input_option, load, out_option, params_option, path_option


@click.command()
@params_option
@input_option
@path_option("--upstream", "upstream_metrics", help="Upstream stage metrics.json (funnel).", multiple=True)
@out_option
def main(params_path: Path, input_path: Path, upstream_metrics: tuple[Path, ...], out_dir: Path) -> None:
    p = load(params_path)
    run_pack(p.pack, input_path, list(upstream_metrics), out_dir)


if __name__ == "__main__":
    main()
