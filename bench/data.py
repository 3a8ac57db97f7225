"""Data benchmarks (print figures, never assert): the data path per stage, and near-dup detection.

``pipeline``: runs ingest -> license-gate -> dedup -> extract -> pack in a temp dir with the given
params (default: the synthetic stdlib source), each stage in a fresh process with cold caches as
``dvc repro`` runs it, and prints transitions/s per stage (wall clock) and per CPU-second (process CPU
time, i.e. per core, counting the Rust tokenizer's threads), best of ``--repeat`` runs. As an in-run
reference it prints the CPU time of the native calls (``ast.parse``, BPE training, encoding) that any
extract with the same outputs makes, and the rows/cpu-s bound they set.

``neardup``: N synthetic code-like documents with planted near-duplicates (a copy with one or two
tokens changed, true Jaccard computed exactly on the shingle sets). Prints docs/s of the vectorized
MinHash + LSH + exact verification + union-find, recall on planted pairs at or above the threshold,
precision of the verified pairs, and datasketch's classic MinHash/MinHashLSH docs/s on a subset as
the in-run baseline.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click
import numpy as np

from codelewm.config import DedupConfig, load_params
from codelewm.data.minhash import UnionFind, candidate_pairs, choose_bands, exact_jaccard, signatures

_KEYWORDS = [
    "def",
    "return",
    "if",
    "else",
    "for",
    "in",
    "while",
    "self",
    "None",
    "not",
    "and",
    "(",
    ")",
    ":",
    "=",
    ",",
    ".",
]


def _stage_fns() -> dict[str, Callable[[Any, Path], dict[str, Any]]]:
    from codelewm.data.dedup import run_dedup
    from codelewm.data.extract import run_extract
    from codelewm.data.ingest import run_ingest
    from codelewm.data.license import run_license_gate
    from codelewm.data.pack import run_pack

    return {
        "ingest": lambda p, out: run_ingest(p.ingest, out / "ingest"),
        "license-gate": lambda p, out: run_license_gate(
            p.license, out / "ingest" / "transitions.parquet", out / "license"
        ),
        "dedup": lambda p, out: run_dedup(p.dedup, out / "license" / "transitions.parquet", out / "dedup"),
        "extract": lambda p, out: run_extract(p.extract, out / "dedup" / "transitions.parquet", out / "extract"),
        "pack": lambda p, out: run_pack(
            p.pack,
            out / "extract" / "examples.parquet",
            [out / s / "metrics.json" for s in ("ingest", "license", "dedup", "extract")],
            out / "shards",
        ),
    }


STAGES = ("ingest", "license-gate", "dedup", "extract", "pack")


def _timed_stage(name: str, params_path: str, out: str) -> tuple[int, float, float]:
    """Run one stage and time it: (rows in, wall s, CPU s). Called in a fresh process (see below)."""
    import pyarrow as pa

    # one-time lazy imports (pyarrow loads pandas on its first table build, ~0.3 s) are process
    # start-up, like importing the package, not per-row work
    pa.Table.from_pydict({"warmup": [0]})
    fn = _stage_fns()[name]
    p = load_params(Path(params_path))
    w0, c0 = time.perf_counter(), time.process_time()
    m = fn(p, Path(out))
    return int(m["in"]), time.perf_counter() - w0, time.process_time() - c0


def _stage_times(params_path: Path, out: Path) -> list[tuple[str, int, float, float]]:
    """Each stage in a fresh spawned process, as ``dvc repro`` runs them: caches start cold (a stage
    must not profit from the parse caches a previous stage warmed). CPU time is the child's process
    time, all its threads included (the Rust tokenizer trainer is multi-threaded)."""
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for name in STAGES:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            n, wall, cpu = pool.submit(_timed_stage, name, str(params_path), str(out)).result()
        rows.append((name, n, wall, cpu))
    return rows


def _least_cpu(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return best


def _native_floor(out: Path, params_path: Path, repeat: int) -> tuple[int, dict[str, float], float]:
    """(distinct before files, CPU s per native call extract cannot avoid, CPU s of ``ast.parse`` of
    the before files), least over ``repeat``.

    Whatever Python does around them, an extract producing the same outputs has to make these calls into
    native code at least once each: ``ast.parse`` of every distinct symbol fragment (before and after:
    edit ops and re-indentation read their ASTs), training the BPE on the same corpus, and encoding every
    distinct state line once (here as one call, cheaper than the per-line calls extract makes). Their
    sum bounds extract's rows/cpu-s from above. The whole before files are parsed once per data path, by
    ingest, which hands their module indexes on (``before_index``); their parse time is reported apart.
    """
    import pyarrow.parquet as pq

    from codelewm.data import extract as ex
    from codelewm.data.codestate import ExtractError, Indexer, edited_symbol_sources, fragment_text
    from codelewm.data.normalize import parse_source
    from codelewm.data.tokenizer import train_tokenizer
    from codelewm.rowio import iter_records

    cfg = load_params(params_path).extract
    table = pq.read_table(out / "dedup" / "transitions.parquet", columns=["before_file", "after_file", "symbol"])
    files, fragments = set(), set()
    ix = Indexer()
    for r in table.to_pylist():
        files.add(r["before_file"])
        try:
            _, _, bsrc, asrc = edited_symbol_sources(ix, r["before_file"], r["after_file"], r["symbol"], verify=False)
        except ExtractError:  # quarantined by extract
            continue
        fragments.update((fragment_text(bsrc), fragment_text(asrc)))

    def parse_all(texts: set[str]) -> None:
        for t in texts:
            try:
                parse_source(t)
            except ExtractError:
                pass

    spill = out / "floor.spill.parquet"
    corpus = list(ex._extract_pass(Indexer(), out / "dedup" / "transitions.parquet", spill, cfg, Counter()))
    tok = train_tokenizer(corpus, cfg)
    pieces: set[str] = set()
    for rec in iter_records(spill):
        if not rec["reason"]:
            for side in "ba":
                pieces.update(ex._unspill(rec, side).render(cfg.max_context_lines).split("\n"))
            pieces.update((rec["instruction"], " ; ".join(rec["ops"])))
    spill.unlink()
    joined = "\n".join(sorted(pieces))
    floor = {
        "ast.parse symbol fragments": _least_cpu(lambda: parse_all(fragments), repeat),
        "BPE training": _least_cpu(lambda: train_tokenizer(corpus, cfg), repeat),
        "encode distinct lines": _least_cpu(lambda: tok.encode(joined, add_special_tokens=False), repeat),
    }
    return len(files), floor, _least_cpu(lambda: parse_all(files), repeat)


def _print_stages(runs: list[list[tuple[str, int, float, float]]], floor: tuple[int, dict[str, float], float]) -> None:
    """Best of the repeats per stage (minimum wall and minimum CPU: the machine is noisy, and noise
    only ever adds time), plus the median wall to show the spread."""
    click.echo(
        f"{'stage':<14}{'rows in':>9}{'wall s':>9}{'cpu s':>9}{'rows/s':>10}{'rows/cpu-s':>12}{'median wall':>13}"
    )
    best = {}
    for k, name in enumerate(STAGES):
        n = runs[0][k][1]
        walls, cpus = [r[k][2] for r in runs], [r[k][3] for r in runs]
        best[name] = (n, min(walls), min(cpus))
        click.echo(
            f"{name:<14}{n:>9}{min(walls):>9.2f}{min(cpus):>9.2f}{n / min(walls):>10.0f}"
            f"{n / max(min(cpus), 1e-9):>12.0f}{float(np.median(walls)):>13.2f}"
        )
    for label, first, names in [("extract+pack", "extract", ("extract", "pack")), ("data path", "ingest", STAGES)]:
        wall = sum(best[x][1] for x in names)
        cpu = sum(best[x][2] for x in names)
        n = best[first][0]  # transitions entering the first stage of the span
        click.echo(f"{label:<14}{n:>9}{wall:>9.2f}{cpu:>9.2f}{n / wall:>10.0f}{n / max(cpu, 1e-9):>12.0f}")
    n_files, parts, file_parse = floor
    n_extract = best["extract"][0]
    total = sum(parts.values())
    click.echo("reference, native calls extract cannot avoid (same run, least cpu s):")
    for name, cpu in parts.items():
        click.echo(f"  {name:<28}{cpu:>7.2f}")
    click.echo(
        f"  {'total':<28}{total:>7.2f} -> extract cannot exceed {n_extract / max(total, 1e-9):.0f} transitions/cpu-s "
        f"({n_files} distinct before files); extract+pack spent {best['extract'][2] + best['pack'][2]:.2f}"
    )
    click.echo(f"  (ast.parse of the {n_files} before files, once per data path in ingest: {file_parse:.2f})")
    click.echo(f"(best of {len(runs)} runs, each stage in a fresh process; {os.cpu_count()} CPUs visible)")


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
            docs.append(
                " ".join(rng.choice(_KEYWORDS) if rng.random() < 0.4 else rng.choice(idents) for _ in range(length))
            )
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


def run_pipeline_bench(params_path: Path, repeat: int = 3) -> None:
    """Throughput of each data stage and of the whole data path (best of ``repeat`` runs)."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="codelewm-bench-") as tmp:
        for _ in range(repeat):
            out = Path(tmp) / f"run{len(runs)}"
            runs.append(_stage_times(params_path, out))
        floor = _native_floor(out, params_path, repeat)
    _print_stages(runs, floor)


def run_neardup_bench(n_docs: int, seed: int, baseline_docs: int) -> None:
    """Vectorized MinHash-LSH docs/s, recall/precision on planted near-duplicates, vs datasketch."""
    cfg = DedupConfig()
    docs, planted = make_neardup_corpus(n_docs, seed)
    truth = [(i, j) for i, j in planted if _jaccard(docs[i], docs[j], cfg.shingle) >= cfg.threshold]
    b, r = choose_bands(cfg.threshold, cfg.num_perm)
    signatures(docs[:100], cfg.shingle, cfg.num_perm)  # warm-up (imports, thread pool, caches)
    t0, c0 = time.perf_counter(), time.process_time()
    sig = signatures(docs, cfg.shingle, cfg.num_perm)
    t1 = time.perf_counter()
    pairs = candidate_pairs(sig, b, r)
    t2 = time.perf_counter()
    verified = pairs[exact_jaccard(docs, pairs, cfg.shingle) >= cfg.threshold]
    t3 = time.perf_counter()
    uf = UnionFind(len(docs))
    for i, j in verified.tolist():
        uf.union(i, j)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    found = sum(uf.find(i) == uf.find(j) for i, j in truth)
    sample = verified[np.random.default_rng(seed).permutation(len(verified))[:2000]]
    true_j = np.array([_jaccard(docs[i], docs[j], cfg.shingle) for i, j in sample.tolist()])
    prec = float((true_j >= cfg.threshold).mean()) if len(true_j) else float("nan")
    click.echo(f"docs={n_docs} planted={len(planted)} planted_at_or_above_threshold={len(truth)} bands={b}x{r}")
    click.echo(
        f"signatures {t1 - t0:.2f}s  candidates {t2 - t1:.2f}s  verify {t3 - t2:.2f}s  union-find "
        f"{wall - (t3 - t0):.2f}s  total {wall:.2f}s  cpu {cpu:.2f}s (all threads, {os.cpu_count()} CPUs visible)"
    )
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
@click.option(
    "--params", "params_path", type=click.Path(exists=True, path_type=Path), default="params.yaml", show_default=True
)
@click.option("--docs", "n_docs", default=100_000, show_default=True, help="near-dup benchmark corpus size")
@click.option("--seed", default=0, show_default=True)
@click.option("--baseline-docs", default=3000, show_default=True, help="docs for the datasketch baseline")
@click.option("--only", type=click.Choice(["all", "pipeline", "neardup"]), default="all", show_default=True)
@click.option(
    "--repeat", type=click.IntRange(min=1), default=3, show_default=True, help="data-path runs; best per stage reported"
)
def cli(params_path: Path, n_docs: int, seed: int, baseline_docs: int, only: str, repeat: int) -> None:
    """Data-pipeline benchmarks (figures only; nothing is asserted)."""
    if only in ("all", "pipeline"):
        click.echo("--- data path (transitions/s per stage) ---")
        run_pipeline_bench(params_path, repeat)
    if only in ("all", "neardup"):
        click.echo("--- near-duplicate detection ---")
        run_neardup_bench(n_docs, seed, baseline_docs)


if __name__ == "__main__":
    cli()
