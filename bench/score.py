"""Benchmarks for the scorer and the index (print figures; never assert timings).

- scorer latency: 1 query x N candidates (default 100) end to end on CPU (featurize + encode + predict),
  median/p90 over repeats, against a 100 ms target, and the same candidates scored one call each
  (the unbatched baseline, measured in the same run);
- scorer throughput: pre-featurized candidates/s on the current device (CUDA when present);
- index: exact top-10 query latency over 1M random latents of d_latent, chunked torch search vs a
  naive full-distance baseline, with the corpus memory.

Without ``--model`` a randomly initialised checkpoint of the configured size is built on synthetic
data: latency does not depend on the weights, and no quality figure is printed.
"""

from __future__ import annotations

import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import click
import torch

from codelewm.config import ModelConfig


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _candidates(n: int, seed: int) -> tuple[str, str, list[str]]:
    from codelewm.edits.operators import OPERATORS, mutate
    from tests.fixtures.world import BASE_FUNCTIONS

    before = BASE_FUNCTIONS[0]
    rng = random.Random(seed)
    out: list[str] = []
    instruction = ""
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        m = mutate(before, rng.choice(OPERATORS), rng)
        if m is not None:
            out.append(m.source)
            instruction = instruction or m.instruction
    if not out:
        raise RuntimeError("no operator applies to the benchmark function")
    return before, instruction, (out * (n // len(out) + 1))[:n]


def _scorer(model_dir: Path | None, size: str, device: str, tmp: Path):
    from codelewm.score import Scorer
    from tests.fixtures import world as syn

    if model_dir is None:
        t = syn.sibling_transitions()
        tok = syn.make_tokenizer(
            [x[k] for x in t for k in ("before_file", "after_file", "instruction")] * 3, tmp / "tok.json"
        )
        model_dir = syn.make_checkpoint(tmp / "model", tok, size=size)
        click.echo(f"model: random-init '{size}' checkpoint (latency only)")
    return Scorer.load(model_dir, device=device)


def bench_scorer(model_dir: Path | None, size: str, n: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        torch.set_grad_enabled(False)
        sc = _scorer(model_dir, size, "cpu", Path(tmp))
        before, instr, cands = _candidates(n, 0)
        sc.score(before, instr, cands)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            sc.score(before, instr, cands)
            times.append((time.perf_counter() - t0) * 1e3)
        med, p90 = statistics.median(times), _pct(times, 0.9)
        t0 = time.perf_counter()
        rows = sc.candidate_rows(before, instr, cands)
        feat_ms = (time.perf_counter() - t0) * 1e3
        click.echo(
            f"  of which featurization {feat_ms:.1f} ms; "
            f"{len({tuple(r['after_ids']) for r in rows})} distinct candidates"
        )
        click.echo(
            f"scorer cpu 1x{n}: median {med:.1f} ms, p90 {p90:.1f} ms "
            f"(target < 100 ms: {'met' if p90 < 100 else 'NOT met'})"
        )
        k = min(n, 20)
        t0 = time.perf_counter()
        for c in cands[:k]:
            sc.score(before, instr, [c])
        one = (time.perf_counter() - t0) * 1e3 / k
        click.echo(
            f"  unbatched baseline: {one:.2f} ms/candidate vs batched {med / n:.2f} ms/candidate "
            f"(x{one / (med / n):.1f})"
        )
        device = "cuda" if torch.cuda.is_available() else "cpu"
        sc_dev = _scorer(model_dir, size, device, Path(tmp)) if device != "cpu" else sc
        big = rows * max(1, 4096 // len(rows))
        from codelewm.model.infer import encode_after

        # the raw per-candidate cost: encode_after on every row (score_rows would dedupe the repeats)
        encode_after(sc_dev.lm, big[:256])
        t0 = time.perf_counter()
        encode_after(sc_dev.lm, big)
        if device == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        click.echo(f"scorer throughput on {device}: {len(big) / dt:,.0f} pre-featurized candidates/s ({len(big)} rows)")


def bench_index(n: int, d: int, queries: int, repeats: int) -> None:
    from codelewm.index.search import search

    torch.set_grad_enabled(False)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    g = torch.Generator().manual_seed(0)
    corpus = torch.randn(n, d, generator=g)
    sq = corpus.pow(2).sum(-1)
    q = torch.randn(queries, d, generator=g)
    search(corpus, q[:1], 10, corpus_sq=sq)
    single, batch = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        search(corpus, q[:1], 10, corpus_sq=sq)
        single.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        search(corpus, q, 10, corpus_sq=sq)
        batch.append((time.perf_counter() - t0) * 1e3)
    t0 = time.perf_counter()
    torch.topk(((q[:1, None, :] - corpus[None]) ** 2).sum(-1), 10, largest=False)
    naive = (time.perf_counter() - t0) * 1e3
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    click.echo(f"index {n:,} x {d}: corpus {corpus.numel() * 4 / 2**20:,.0f} MiB, peak RSS +{rss:,.0f} MiB")
    click.echo(
        f"  top-10, 1 query: median {statistics.median(single):.1f} ms, p90 {_pct(single, 0.9):.1f} ms "
        f"(naive full-difference baseline {naive:.1f} ms, x{naive / statistics.median(single):.1f})"
    )
    click.echo(
        f"  top-10, {queries} queries: median {statistics.median(batch):.1f} ms "
        f"({statistics.median(batch) / queries:.2f} ms/query)"
    )


@click.command()
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Trained model dir (default: random-init).",
)
@click.option("--size", default="cpu", show_default=True, help="model.sizes key for the random-init model.")
@click.option("--candidates", default=100, show_default=True)
@click.option("--repeats", default=10, show_default=True)
@click.option("--index-size", default=1_000_000, show_default=True)
@click.option("--queries", default=100, show_default=True)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    help="torch CPU threads (0 = torch default); 1 avoids oversubscription on busy machines.",
)
@click.option("--what", type=click.Choice(["all", "scorer", "index"]), default="all", show_default=True)
def cli(
    model_dir: Path | None,
    size: str,
    candidates: int,
    repeats: int,
    index_size: int,
    queries: int,
    threads: int,
    what: str,
) -> None:
    """Scorer latency/throughput and exact index search latency."""
    if threads > 0:
        torch.set_num_threads(threads)
    click.echo(f"torch CPU threads: {torch.get_num_threads()}")
    if what in ("all", "scorer"):
        bench_scorer(model_dir, size, candidates, repeats)
    if what in ("all", "index"):
        bench_index(index_size, ModelConfig().sizes[size].d_latent, queries, max(3, repeats // 2))


if __name__ == "__main__":
    cli()
