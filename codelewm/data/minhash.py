"""Vectorized MinHash + LSH over token shingles (numpy; no per-token Python work).

Shingles: the whole corpus is joined into one byte buffer; tokens are maximal runs of identifier bytes
(``[A-Za-z0-9_]`` and non-ASCII) or single punctuation bytes; whitespace separates. Token hashes come
from prefix polynomial hashes mod 2^64 (``hash(s[l:r]) = (H[r]-H[l]) * P^-l``), and a shingle hashes
``k`` consecutive tokens of one document. Documents shorter than ``k`` tokens get one shingle of all.

Signatures: one-permutation MinHash (Li, Owen & Zhang 2012) with rotation densification
(Shrivastava & Li 2014): each shingle is mixed once (splitmix64) and lands in one of ``num_perm``
bins by its high bits; a bin keeps its minimum low 32 bits; empty bins borrow the next non-empty bin
to the right (cyclically) plus a distance offset. ``P[sig_a[i] == sig_b[i]]`` estimates Jaccard like
classic k-permutation MinHash, at O(shingles) instead of O(shingles * num_perm) cost.

LSH banding: ``b`` bands of ``r`` rows (``b*r <= num_perm``). Two docs with Jaccard ``s`` share at least
one band bucket with probability ``P(candidate) = 1 - (1 - s^r)^b``, an S-curve whose midpoint is near
``(1/b)^(1/r)``. Candidates are verified with the EXACT Jaccard of their shingle sets
(:func:`exact_jaccard`), so a false candidate costs only time while a missed one is a missed duplicate;
:func:`choose_bands` therefore requires ``P(candidate | s=threshold) >= 0.98`` and, among those
``(b, r)``, minimizes the false-positive area ``int_0^t P ds``. With 128 slots: threshold 0.8 -> b=18,
r=7 (P(0.8)=0.986, P(0.5)=0.14, P(0.3)=0.004); threshold 0.7 -> b=25, r=5 (P(0.7)=0.990, P(0.5)=0.55).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_P = np.uint64(0x100000001B3)  # odd multiplier: invertible mod 2^64
_Q = np.uint64(0x9E3779B97F4A7C15)
_MASK32 = np.uint64(0xFFFFFFFF)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a strong 64-bit mixer, vectorized (uint64 wraps mod 2^64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _inverse_mod_2_64(a: int) -> int:
    return pow(a, -1, 1 << 64)


_WORD = np.zeros(256, dtype=bool)  # identifier bytes: [A-Za-z0-9_] and any non-ASCII (UTF-8) byte
_WORD[[ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"]] = True
_WORD[128:] = True
_SPACE = np.zeros(256, dtype=bool)
_SPACE[:33] = True  # controls, space and NUL (the doc separator)
_SPACE[127] = True
_POW_CACHE: list[np.ndarray] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i mod 2^64 for i < n (cached: cumprod over uint64 is not SIMD-fast)."""
    if not _POW_CACHE or len(_POW_CACHE[0]) < n:
        size = max(n, 2 * len(_POW_CACHE[0]) if _POW_CACHE else 0, 1 << 22)
        with np.errstate(over="ignore"):
            pw = np.cumprod(np.concatenate([[np.uint64(1)], np.full(size - 1, _P, dtype=np.uint64)]))
            p_inv = np.uint64(_inverse_mod_2_64(int(_P)))
            iv = np.cumprod(np.concatenate([[np.uint64(1)], np.full(size - 1, p_inv, dtype=np.uint64)]))
        _POW_CACHE[:] = [pw, iv]
    return _POW_CACHE[0][:n], _POW_CACHE[1][:n]


def shingle_hashes(docs: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes uint64, doc index per shingle) for ``docs``; every doc gets >= 1 shingle."""
    buf = np.frombuffer("\x00".join(docs).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    n = len(buf)
    nul = np.flatnonzero(buf == 0)  # NUL separates docs (never inside source)
    word = _WORD[buf]
    space = _SPACE[buf]
    prev_word = np.concatenate([[False], word[:-1]])
    next_word = np.concatenate([word[1:], [False]])
    starts = np.flatnonzero(~space & ~(word & prev_word))  # a word run's first byte, or punctuation
    ends = starts + 1
    ends[word[starts]] = np.flatnonzero(word & ~next_word) + 1  # word runs end before a non-word byte
    with np.errstate(over="ignore"):
        powers, inv = _powers(n + 1)
        prefix = np.concatenate([[np.uint64(0)], np.cumsum((buf.astype(np.uint64) + np.uint64(1)) * powers[:n])])
        tok = (prefix[ends] - prefix[starts]) * inv[starts]
        tok_doc = np.searchsorted(nul, starts)
        n_tok = len(tok)
        m = n_tok - k + 1
        if m > 0:
            sh = tok[:m].copy()
            q = np.uint64(1)
            for j in range(1, k):
                q = q * _Q
                sh = sh + tok[j : j + m] * q
            valid = tok_doc[:m] == tok_doc[k - 1 :]
            sh, sh_doc = sh[valid], tok_doc[:m][valid]
        else:
            sh, sh_doc = np.zeros(0, np.uint64), np.zeros(0, np.int64)
        # documents with < k tokens: one shingle = sum of their token hashes (order-aware via index)
        counts = np.bincount(sh_doc, minlength=len(docs))
        short = np.flatnonzero(counts == 0)
        if len(short):
            in_short = np.isin(tok_doc, short)
            pos = np.arange(n_tok, dtype=np.uint64)
            first = np.searchsorted(tok_doc, short)
            rel = pos[in_short] - first[np.searchsorted(short, tok_doc[in_short])].astype(np.uint64)
            vals = tok[in_short] * (rel * np.uint64(2) + np.uint64(1))
            extra = np.zeros(len(short), np.uint64)
            np.add.at(extra, np.searchsorted(short, tok_doc[in_short]), vals)
            sh = np.concatenate([sh, extra ^ np.uint64(0x5BD1E995)])
            sh_doc = np.concatenate([sh_doc, short])
    return sh, sh_doc


def signatures(docs: list[str], k: int, num_perm: int, chunk_bytes: int = 1 << 20, threads: int = 0) -> np.ndarray:
    """One-permutation MinHash signatures with rotation densification: uint32 [len(docs), num_perm].

    Documents are processed in chunks of about ``chunk_bytes`` so the uint64 prefix-hash arrays stay
    small and cache-friendly; chunks run on ``threads`` threads (0 = one per CPU). Output does not
    depend on the thread count.
    """
    spans = _spans(docs, chunk_bytes)
    if not spans:
        return np.zeros((0, num_perm), dtype=np.uint32)
    _powers(max(sum(len(d) + 1 for d in docs[a:b]) for a, b in spans) + 1)  # fill the cache once, up front
    workers = min(threads or os.cpu_count() or 1, len(spans))
    if workers <= 1:
        return np.concatenate([_signatures_chunk(docs[a:b], k, num_perm) for a, b in spans])
    # numpy releases the GIL in its array loops, so chunks run in parallel threads
    with ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(lambda ab: _signatures_chunk(docs[ab[0] : ab[1]], k, num_perm), spans)))


def _spans(docs: list[str], chunk_bytes: int) -> list[tuple[int, int]]:
    """Consecutive doc ranges of about ``chunk_bytes`` characters each."""
    spans, i = [], 0
    while i < len(docs):
        j, size = i, 0
        while j < len(docs) and (size < chunk_bytes or j == i):
            size += len(docs[j]) + 1
            j += 1
        spans.append((i, j))
        i = j
    return spans


def _signatures_chunk(docs: list[str], k: int, num_perm: int) -> np.ndarray:
    sh, sh_doc = shingle_hashes(docs, k)
    h = _mix(sh)
    bins = (h >> np.uint64(32)) % np.uint64(num_perm)
    vals = (h & _MASK32).astype(np.uint32)
    empty = np.uint32(0xFFFFFFFF)
    sig = np.full(len(docs) * num_perm, empty, dtype=np.uint32)
    np.minimum.at(sig, sh_doc * num_perm + bins.astype(np.int64), vals)
    sig = sig.reshape(len(docs), num_perm)
    filled = sig != empty
    if not filled.all():
        # next filled bin to the right, cyclically: suffix-min of filled positions over a doubled row
        idx = np.where(np.concatenate([filled, filled], axis=1), np.arange(2 * num_perm), 2 * num_perm)
        nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, :num_perm]
        dist = (nxt - np.arange(num_perm)).astype(np.uint32)
        src = np.take_along_axis(sig, nxt % num_perm, axis=1)
        with np.errstate(over="ignore"):
            sig = np.where(filled, sig, src + dist * np.uint32(0x9E3779B1))
    return sig


def candidate_probability(s: float, b: int, r: int) -> float:
    return 1.0 - (1.0 - s**r) ** b


def choose_bands(threshold: float, num_perm: int, min_p: float = 0.98) -> tuple[int, int]:
    """(b, r) with ``P(candidate | s=threshold) >= min_p`` minimizing the false-positive area.

    Candidates are verified exactly afterwards, so false positives cost only time while a missed
    candidate is a missed duplicate: recall at the threshold is the constraint, precision the objective.
    """
    grid = np.linspace(0.0, threshold, 101)
    best, best_fp = (num_perm, 1), float("inf")
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if candidate_probability(threshold, b, r) < min_p:
            continue
        fp = float(np.trapezoid(1.0 - (1.0 - grid**r) ** b, grid))
        if fp < best_fp:
            best, best_fp = (b, r), fp
    return best


def candidate_pairs(sig: np.ndarray, b: int, r: int, window: int = 8) -> np.ndarray:
    """Unique (i, j), i < j, sharing a band bucket: int64 [n_pairs, 2].

    Within a bucket sorted by key, each doc is paired with the next ``window`` docs of the same bucket
    (all pairs for buckets up to window+1 docs; huge buckets stay linear, and union-find over the
    verified chain keeps their connectivity).
    """
    n = len(sig)
    rng = np.random.default_rng(12345)  # fixed: band keys must be reproducible
    mult = rng.integers(1, 2**63, size=r, dtype=np.uint64) | np.uint64(1)

    def band_pairs(band: int) -> list[np.ndarray]:
        cols = sig[:, band * r : (band + 1) * r].astype(np.uint64)
        with np.errstate(over="ignore"):
            key = _mix((cols * mult).sum(axis=1, dtype=np.uint64) + np.uint64(band))
        order = np.argsort(key, kind="stable")
        ks = key[order]
        found = []
        for w in range(1, min(window, n - 1) + 1):
            same = ks[w:] == ks[:-w]
            if not same.any():
                break
            found.append(np.stack([order[:-w][same], order[w:][same]], axis=1))
        return found

    with ThreadPoolExecutor(min(b, os.cpu_count() or 1)) as pool:  # argsort releases the GIL
        out = [p for found in pool.map(band_pairs, range(b)) for p in found]
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(out), axis=1)
    return np.unique(pairs, axis=0)


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray, sig_b: np.ndarray | None = None) -> np.ndarray:
    """Fraction of agreeing signature slots for each pair (rows of ``sig`` / ``sig_b``)."""
    other = sig if sig_b is None else sig_b
    if len(pairs) == 0:
        return np.zeros(0)
    return (sig[pairs[:, 0]] == other[pairs[:, 1]]).mean(axis=1)


class UnionFind:
    """Path-halving union-find over 0..n-1; roots are the smallest member for determinism."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        p = self.parent
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo


_M40 = np.uint64((1 << 40) - 1)


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sort-based unique (numpy 2's hash-based ``np.unique`` is slower on large integer arrays)."""
    x = np.sort(x)
    return x[np.concatenate([[True], x[1:] != x[:-1]])] if len(x) else x


def _gather(local: np.ndarray, off: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate CSR rows ``local`` of ``values``: (row number per element, element)."""
    lens = off[local + 1] - off[local]
    row = np.repeat(np.arange(len(local), dtype=np.uint64), lens)
    pos = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(off[local], lens)
    return row, values[pos]


def exact_jaccard(docs: list[str], pairs: np.ndarray, k: int, batch: int = 1 << 20) -> np.ndarray:
    """Exact Jaccard of the shingle sets of each pair (only the docs named in ``pairs`` are shingled).

    Vectorized: per-doc unique shingles (40-bit) in CSR form; each pair's two sets are tagged with the
    pair number, sorted together, and equal neighbours counted as the intersection. A 40-bit hash
    collision inside one pair (~|A||B|/2^40) is negligible.
    """
    if len(pairs) == 0:
        return np.zeros(0)
    involved = _sorted_unique(pairs.ravel())
    local = np.searchsorted(involved, pairs)
    sub = [docs[i] for i in involved.tolist()]
    parts = []
    for a, b in _spans(sub, 1 << 20):
        sh, sh_doc = shingle_hashes(sub[a:b], k)
        parts.append(((sh_doc + a).astype(np.uint64) << np.uint64(40)) | (sh & _M40))
    u = _sorted_unique(np.concatenate(parts))
    udoc = (u >> np.uint64(40)).astype(np.int64)
    off = np.searchsorted(udoc, np.arange(len(involved) + 1))
    vals = u & _M40
    sizes = np.diff(off)
    out = np.empty(len(pairs))
    for b0 in range(0, len(pairs), batch):  # pair numbers must fit in the top 24 bits
        la, lb = local[b0 : b0 + batch, 0], local[b0 : b0 + batch, 1]
        ra, ha = _gather(la, off, vals)
        rb, hb = _gather(lb, off, vals)
        keys = np.sort(np.concatenate([(ra << np.uint64(40)) | ha, (rb << np.uint64(40)) | hb]))
        dup = keys[1:] == keys[:-1]
        inter = np.bincount((keys[1:][dup] >> np.uint64(40)).astype(np.int64), minlength=len(la))
        out[b0 : b0 + batch] = inter / (sizes[la] + sizes[lb] - inter)
    return out
