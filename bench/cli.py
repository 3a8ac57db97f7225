"""Benchmarks: ``python -m bench {data,train,score,sandbox,all}`` (also ``make bench``).

Each area owns its benchmark command; this module only gathers them. Benchmarks print figures
(throughput, latency, MFU, ratios against a baseline measured in the same run) and never assert
timings: the machines are noisy, so targets are read, not tested.
"""

from __future__ import annotations

import importlib

import click

AREAS = {
    "data": "bench.data",  # transitions/s per data stage; MinHash dedup docs/s + recall
    "train": "bench.train",  # examples/s, useful tokens/s, MFU on the current device
    "score": "bench.score",  # rerank latency 1x100 on CPU, throughput; index top-10 at 1M
    "sandbox": "bench.sandbox",  # ms per sandboxed run, per isolation layer
}


class _Lazy(click.Group):
    """Import an area's benchmark only when it is run (torch start-up is not free)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*AREAS, "all"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "all":
            return _all
        if name not in AREAS:
            return None
        cmd = importlib.import_module(AREAS[name]).cli
        cmd.name = name
        return cmd


@click.command(name="all", help="Run every benchmark with its defaults.")
@click.pass_context
def _all(ctx: click.Context) -> None:
    for name in AREAS:
        click.echo(f"\n=== bench {name} ===")
        cmd = importlib.import_module(AREAS[name]).cli
        ctx.invoke(cmd)


main = _Lazy(name="bench", help=__doc__)
