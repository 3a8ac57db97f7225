"""Data benchmarks (print figures, never assert): the data path per stage, and near-dup detection.

``pipeline``: runs ingest -> license-gate -> dedup -> extract -> pack in a temp dir with the given
params (default: the synthetic stdlib source) and prints transitions/s per stage (wall clock) and per
CPU-second (process CPU time, i.e. per core, counting the Rust tokenizer's threads).

``neardup``: N synthetic code-like documents with planted near-duplicates (a copy with one or two
tokens changed, true Jaccard computed exactly on the shingle sets). Prints docs/s of the vectorized
MinHash + LSH + exact verification + union-find, recall on planted pairs at or above the threshold,
precision of the verified pairs, and datasketch's classic MinHash/MinHashLSH docs/s on a subset as
the in-run baseline.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from codelewm.config import DedupConfig, load_params
from codelewm.data.minhash import UnionFind, candidate_pairs, choose_bands, exact_jaccard, signatures

_KEYWORDS = ["def", "return", "if", "else", "for", "in", "while", "self", "None", "not", "and", "(", ")", ":", "=", ",", "."]


def _stage_times(params_path: Path, out: Path) -> list[tuple[str, int, float, float]]:
    from codelewm.data.dedup import run_dedup
    from codelewm.data.extract import run_extract
    from codelewm.data.ingest import run_ingest
    from codelewm.data.license import run_license_gate
    from codelewm.data.pack import run_pack

    p = load_params(params_path)
    steps = [
        ("ingest", lambda: run_ingest(p.ingest, out / "ingest")),
        ("license-gate", lambda: run_license_gate(p.license, out / "ingest" / "transitions.parquet", out / "license")),
        ("dedup", lambda: run_dedup(p.dedup, out / "license" / "transitions.parquet", out / "dedup")),
        ("extract", lambda: run_extract(p.extract, out / "dedup" / "transitions.parquet", out / "extract")),
        (
            "pack",
            lambda: run_pack(
                p.pack,
                out / "extract" / "examples.parquet",
                [out / s / "metrics.json" for s in ("ingest", "license", "dedup", "extract")],
                out / "shards",
            ),
        ),
    ]
    rows = []
    for name, fn in steps:
        w0, c0 = time.perf_counter(), time.process_time()
        m = fn()
        rows.append((name, int(m["in"]), time.perf_counter() - w0, time.process_time() - c0))
    return rows


def _print_stages(rows: list[tuple[str, int, float, float]]) -> None:
    click.echo(f"{'stage':<14}{'rows in':>9}{'wall s':>9}{'cpu s':>9}{'rows/s':>10}{'rows/cpu-s':>12}")
    for name, n, wall, cpu in rows:
        click.echo(f"{name:<14}{n:>9}{wall:>9.2f}{cpu:>9.2f}{n / wall:>10.0f}{n / max(cpu, 1e-9):>12.0f}")
    ingested = rows[0][1]
    by_name = {r[0]: r for r in rows}
    for label, first, names in [("extract+pack", "extract", {"extract", "pack"}), ("data path", "ingest", set(by_name))]:
        wall = sum(by_name[x][2] for x in names)
        cpu = sum(by_name[x][3] for x in names)
        n = by_name[first][1]  # transitions entering the first stage of the span
        click.echo(f"{label:<14}{n:>9}{wall:>9.2f}{cpu:>9.2f}{n / wall:>10.0f}{n / max(cpu, 1e-9):>12.0f}")
    click.echo(f"(ingested {ingested} transitions; {os.cpu_count()} CPUs visible)")


def make_neardup_corpus(n: int, seed: int, dup_fraction: float = 0.1) -> tuple[list[str], list[tuple[int, int]]]:
    """``n`` code-like docs; a ``dup_fraction`` of them are 1-2 token edits of an earlier doc."""
    rng = random.Random(seed)
    idents = [f"name{i}" for i in range(20000)]
    docs: list[str] = []
    planted: list[tuple[int, int]] = []
    for i in range(n):
        if docs and rng.random() < dup_fraction:
            j = rng.randrange(len(docs))
            toks = docs[j].split(" ")
            for _ in range(rng.choice((1, 2))):
                toks[rng.randrange(len(toks))] = rng.choice(idents)
            docs.append(" ".join(toks))
            planted.append((j, i))
        else:
            length = rng.randint(60, 160)
            docs.append(" ".join(rng.choice(_KEYWORDS) if rng.random() < 0.4 else rng.choice(idents) for _ in range(length)))
    return docs, planted


def _shingles(doc: str, k: int) -> set[tuple[str, ...]]:
    t = doc.split(" ")
    return {tuple(t[i : i + k]) for i in range(max(1, len(t) - k + 1))}


def _jaccard(a: str, b: str, k: int) -> float:
    sa, sb = _shingles(a, k), _shingles(b, k)
    return len(sa & sb) / len(sa | sb)


def _datasketch_rate(docs: list[str], cfg: DedupConfig) -> float:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    for i, d in enumerate(docs):
        m = MinHash(num_perm=cfg.num_perm)
        m.update_batch([" ".join(s).encode() for s in _shingles(d, cfg.shingle)])
        lsh.query(m)
        lsh.insert(str(i), m)
    return len(docs) / (time.perf_counter() - t0)


def run_pipeline_bench(params_path: Path) -> None:
    """Throughput of each data stage and of the whole data path."""
    with tempfile.TemporaryDirectory(prefix="codelewm-bench-") as tmp:
        _print_stages(_stage_times(params_path, Path(tmp)))


def run_neardup_bench(n_docs: int, seed: int, baseline_docs: int) -> None:
    """Vectorized MinHash-LSH docs/s, recall/precision on planted near-duplicates, vs datasketch."""
    cfg = DedupConfig()
    docs, planted = make_neardup_corpus(n_docs, seed)
    truth = [(i, j) for i, j in planted if _jaccard(docs[i], docs[j], cfg.shingle) >= cfg.threshold]
    b, r = choose_bands(cfg.threshold, cfg.num_perm)
    signatures(docs[:100], cfg.shingle, cfg.num_perm)  # warm the power tables
    t0, c0 = time.perf_counter(), time.process_time()
    sig = signatures(docs, cfg.shingle, cfg.num_perm)
    t1 = time.perf_counter()
    pairs = candidate_pairs(sig, b, r)
    verified = pairs[exact_jaccard(docs, pairs, cfg.shingle) >= cfg.threshold]
    uf = UnionFind(len(docs))
    for i, j in verified.tolist():
        uf.union(i, j)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    found = sum(uf.find(i) == uf.find(j) for i, j in truth)
    sample = verified[np.random.default_rng(seed).permutation(len(verified))[:2000]]
    true_j = np.array([_jaccard(docs[i], docs[j], cfg.shingle) for i, j in sample.tolist()])
    prec = float((true_j >= cfg.threshold).mean()) if len(true_j) else float("nan")
    click.echo(f"docs={n_docs} planted={len(planted)} planted_at_or_above_threshold={len(truth)} bands={b}x{r}")
    click.echo(f"signatures {t1 - t0:.2f}s  total {wall:.2f}s  cpu {cpu:.2f}s")
    click.echo(f"dedup docs/s={n_docs / wall:,.0f}  docs/cpu-s={n_docs / cpu:,.0f}")
    click.echo(
        f"recall(planted, J>={cfg.threshold})={found / max(1, len(truth)):.4f}  "
        f"precision(verified, true J>={cfg.threshold}; sample n={len(sample)})={prec:.4f}  "
        f"candidates={len(pairs)} verified={len(verified)}"
    )
    base = _datasketch_rate(docs[:baseline_docs], cfg)
    click.echo(
        f"baseline datasketch MinHash+MinHashLSH docs/s={base:,.0f} (on {baseline_docs} docs)  "
        f"speedup={n_docs / wall / base:.1f}x"
    )


@click.command()
@click.option("--params", "params_path", type=click.Path(exists=True, path_type=Path), default="params.yaml", show_default=True)
@click.option("--docs", "n_docs", default=100_000, show_default=True, help="near-dup benchmark corpus size")
@click.option("--seed", default=0, show_default=True)
@click.option("--baseline-docs", default=3000, show_default=True, help="docs for the datasketch baseline")
@click.option("--only", type=click.Choice(["all", "pipeline", "neardup"]), default="all", show_default=True)
def cli(params_path: Path, n_docs: int, seed: int, baseline_docs: int, only: str) -> None:
    """Data-pipeline benchmarks (figures only; nothing is asserted)."""
    if only in ("all", "pipeline"):
        click.echo("--- data path (transitions/s per stage) ---")
        run_pipeline_bench(params_path)
    if only in ("all", "neardup"):
        click.echo("--- near-duplicate detection ---")
        run_neardup_bench(n_docs, seed, baseline_docs)


if __name__ == "__main__":
    cli()
