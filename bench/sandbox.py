"""Per-run overhead of each sandbox layer on a trivial program: ``python -m bench sandbox``.

Runs ``pass`` N times (interleaved, after one warm-up run each) in every layer that works here: the
strict bubblewrap container and the older weak layers, plus the bare interpreter as a floor. Prints
the median and mean wall-clock milliseconds per run; the downstream stage makes ~1,600 runs.
"""

from __future__ import annotations

import statistics
import subprocess
import time

import click

from codelewm.sandbox import runner
from codelewm.sandbox.runner import SandboxLimits


def _bare() -> None:
    subprocess.run([runner._python(), "-I", "-S", "-B", "-c", "pass"], check=True)


@click.command(help=__doc__.splitlines()[0])
@click.option("--runs", type=click.IntRange(min=1), default=30, show_default=True, help="Runs per layer.")
def cli(runs: int) -> None:
    limits = SandboxLimits(timeout_s=30.0, cpu_s=10, policy="weak")
    layers: dict[str, object] = {"bare interpreter (no sandbox)": _bare}
    strong, why = runner.strong_isolation()
    if strong:
        layers[f"{strong} (strict)"] = lambda: runner._run(strong, "pass", limits, None)
    else:
        print(f"strict sandbox unavailable: {why}")
    for kind in runner._weak_candidates():
        if not runner._probe(kind):
            layers[f"{kind} (weak)"] = lambda k=kind: runner._run(k, "pass", limits, None)
    times: dict[str, list[float]] = {name: [] for name in layers}
    for fn in layers.values():
        fn()  # warm-up (page cache, the interpreter mirror)
    for _ in range(runs):
        for name, fn in layers.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * 1000)
    print(f"{'layer':40s} {'median ms':>10s} {'mean ms':>10s}   ({runs} runs each, interleaved)")
    for name, ts in times.items():
        print(f"{name:40s} {statistics.median(ts):10.1f} {statistics.fmean(ts):10.1f}")
