"""Vectorized MinHash + LSH over token shingles (numpy; no per-token Python work).

Tokens: a chunk of documents is joined (NUL-separated) into one UTF-8 byte buffer. Tokens are
maximal runs of identifier bytes (``[A-Za-z0-9_]`` and non-ASCII) or single punctuation bytes;
whitespace (``<= 0x20``, DEL) separates. Byte classes come from a few SIMD compares over the buffer;
token starts and last bytes from two ``flatnonzero`` passes. That is all the per-byte work.

Token hashes are computed per TOKEN, not per byte: each token's bytes are read as little-endian
64-bit words straight from the buffer (an unaligned gather at the token's start, then at +8, +16, ...
for the tokens still longer), bytes past the token are masked off, and the words are folded with the
splitmix64 mixer, ``h = mix(w0)``, ``h = mix(h ^ w_i)``. The hash depends only on the token's bytes
(not its offset, alignment, document or chunk), every byte of long tokens counts, and tokens of <= 8
bytes cannot collide (``mix`` is a bijection and token bytes are never NUL). A shingle of ``k``
consecutive tokens of one document is the polynomial ``sum_j tok[i+j] * Q^(k-1-j)`` (mod 2^64);
documents shorter than ``k`` tokens get one shingle of all their tokens. Hash values are not
persisted (:mod:`codelewm.data.dedup` recomputes them every run), but they are deterministic and
independent of the chunk size and thread count.

Signatures: one-permutation MinHash (Li, Owen & Zhang 2012) with densification (Shrivastava & Li
2014): each shingle is mixed once (splitmix64) and lands in one of ``num_perm`` bins by its top bits
(``%`` when ``num_perm`` is not a power of two); a bin keeps its minimum low 32 bits; an empty bin
borrows the nearest non-empty bin to its left (or, before the row's first non-empty bin, that first
one) plus a distance offset. Any fixed probe order keeps ``P[sig_a[i] == sig_b[i]]`` an estimate of
Jaccard like classic k-permutation MinHash, at O(shingles) instead of O(shingles * num_perm) cost.

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

_Q = np.uint64(0x9E3779B97F4A7C15)  # shingle polynomial base (odd)
_CHUNK = 1 << 19  # characters per chunk: the per-byte and per-token arrays stay in cache
_LE64 = np.dtype("<u8")  # token bytes are read as little-endian words on every platform


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a strong 64-bit mixer (a bijection), vectorized (uint64 wraps mod 2^64)."""
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _tokens(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start byte, length) of every token of ``buf`` (uint8), in order.

    Byte classes by arithmetic (cheaper than table lookups over every byte): identifier bytes are
    ``[A-Za-z0-9_]`` and any non-ASCII (UTF-8) byte; ``<= 0x20`` (controls, space, NUL) and DEL are
    whitespace; everything else is single-byte punctuation.
    """
    n = len(buf)
    word = np.zeros(n + 1, dtype=bool)  # word[n] = False: a sentinel past the end
    w = word[:n]
    np.less((buf | np.uint8(0x20)) - np.uint8(97), 26, out=w)  # letters
    w |= (buf - np.uint8(48)) < 10  # digits
    w |= buf == 95  # '_'
    w |= buf >= 128  # non-ASCII
    solid = (buf - np.uint8(33)) < 94  # printable ASCII punctuation (and word bytes below)
    solid |= w
    run = w & word[1:]  # byte i and byte i+1 are both identifier bytes: no boundary between them
    start = solid.copy()
    start[1:] &= ~run[:-1]
    starts = np.flatnonzero(start)
    solid &= ~run  # a token's last byte
    length = np.flatnonzero(solid) - starts + 1
    return starts, length


_PAD = "\x00" * 8  # joined after the last doc: every token's 8-byte read stays inside the buffer
_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)  # low n bytes; n >= 8: all


def _encode(docs: list[str]) -> tuple[bytes, np.ndarray]:
    """(raw, buf): the NUL-joined UTF-8 of ``docs`` plus 9 NULs of padding, and a uint8 view without it."""
    raw = "\x00".join([*docs, _PAD]).encode("utf-8", "surrogatepass")
    return raw, np.frombuffer(raw, dtype=np.uint8, count=len(raw) - len(_PAD) - 1)


def _token_hashes(raw: bytes, starts: np.ndarray, length: np.ndarray) -> np.ndarray:
    """64-bit hash of each token ``raw[s : s + l]``: a function of the token's bytes alone.

    Each token is read as little-endian 64-bit words straight from the byte buffer: the 8 aligned
    views ``frombuffer(raw, uint64, offset=o)``, o < 8, are stacked into one array ``S`` (8 copies of
    the buffer: a fast memcpy, where a gather from an unaligned stride-1 view is not), so the word at
    byte ``p`` is ``S[p % 8, p // 8]`` and the next word of a token is one element to the right
    (``raw`` holds >= 7 bytes after the last token). Bytes past the token are masked off and the
    words are folded with splitmix64: ``h = mix(w0)``, then ``h = mix(h ^ w_i)`` for the next words,
    iterating only over tokens still longer than ``8 * i`` bytes. Token bytes are never NUL, so a
    masked word also fixes the length of its part: tokens of <= 8 bytes never collide (``mix`` is a
    bijection), longer ones with probability ~2^-64; nothing is truncated.
    """
    width = len(raw) // 8
    stack = np.empty((8, width), dtype=np.uint64)
    for o in range(8):
        view = np.frombuffer(raw, dtype=_LE64, count=(len(raw) - o) // 8, offset=o)
        stack[o, : len(view)] = view
        stack[o, len(view) :] = 0
    words = stack.ravel()
    at = starts & 7
    at *= width
    at += starts >> 3  # index of the word at each token's start
    x = words[at]
    x &= np.take(_MASKS, length, mode="clip")
    h = _mix(x)
    live = np.flatnonzero(length > 8)  # tokens with a next word, and that word's index
    at = at[live] + 1
    off = 8
    while len(live):
        rest = length[live] - off
        x = words[at]
        x &= np.take(_MASKS, rest, mode="clip")
        x ^= h[live]
        h[live] = _mix(x)
        more = rest > 8
        live, at = live[more], at[more] + 1
        off += 8
    return h


def token_hashes(doc: str) -> tuple[list[bytes], np.ndarray]:
    """(tokens, their 64-bit hashes) of one document, as :func:`shingle_hashes` sees them."""
    raw, buf = _encode([doc])
    starts, length = _tokens(buf)
    return [raw[s : s + n] for s, n in zip(starts.tolist(), length.tolist())], _token_hashes(raw, starts, length)


def shingle_hashes(docs: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes uint64, doc index per shingle) for ``docs``; every doc gets >= 1 shingle.

    A shingle of ``k`` consecutive tokens of one doc hashes to ``sum_j tok[i + j] * Q^(k-1-j)`` (mod 2^64)
    over the token hashes; a doc with fewer than ``k`` tokens (even none) gets one shingle of all its
    tokens, ``(sum_j tok[j] * (2j + 1)) ^ C``.
    """
    raw, buf = _encode(docs)
    starts, length = _tokens(buf)
    nd = len(docs)
    with np.errstate(over="ignore"):
        tok = _token_hashes(raw, starts, length)
        first = np.zeros(nd + 1, dtype=np.int64)  # first token of each doc, plus the total
        first[1:nd] = np.searchsorted(starts, np.flatnonzero(buf == 0))  # NUL separates docs (never in source)
        first[nd] = len(tok)
        count = np.diff(first)
        per_doc = np.maximum(count - (k - 1), 0)  # shingles of k tokens inside each doc
        m = len(tok) - k + 1
        if m > 0:
            sh = tok[:m].copy()  # Horner: sum_j tok[i + j] * Q^(k-1-j)
            for j in range(1, k):
                sh *= _Q
                sh += tok[j : j + m]
            # drop windows that cross a doc boundary: those starting in the k-1 tokens before a doc's end
            cross = (first[1:nd, None] - np.arange(1, k)).ravel()
            cross = cross[(cross >= 0) & (cross < m)]
            if len(cross):
                keep = np.ones(m, dtype=bool)
                keep[cross] = False
                sh = sh[keep]
        else:
            sh = np.zeros(0, np.uint64)
        sh_doc = np.repeat(np.arange(nd), per_doc)
        short = np.flatnonzero(per_doc == 0)
        if len(short):
            c = count[short]
            pos = np.repeat(first[short] - np.cumsum(c) + c, c) + np.arange(int(c.sum()))  # their tokens
            rel = (pos - np.repeat(first[short], c)).astype(np.uint64)
            extra = np.zeros(len(short), np.uint64)
            np.add.at(extra, np.repeat(np.arange(len(short)), c), tok[pos] * (rel * np.uint64(2) + np.uint64(1)))
            sh = np.concatenate([sh, extra ^ np.uint64(0x5BD1E995)])
            sh_doc = np.concatenate([sh_doc, short])
    return sh, sh_doc


def signatures(docs: list[str], k: int, num_perm: int, chunk_bytes: int = _CHUNK, threads: int = 0) -> np.ndarray:
    """One-permutation MinHash signatures with densification: uint32 [len(docs), num_perm].

    Documents are processed in chunks of about ``chunk_bytes`` so the per-byte and per-token arrays
    stay small and cache-friendly; chunks run on ``threads`` threads (0 = one per CPU). Output does not
    depend on the chunk size or the thread count.
    """
    out = np.empty((len(docs), num_perm), dtype=np.uint32)

    def chunk(ab: tuple[int, int]) -> None:
        _signatures_chunk(docs[ab[0] : ab[1]], k, num_perm, out[ab[0] : ab[1]])

    _run(chunk, _spans(docs, chunk_bytes), threads)
    return out


def _spans(docs: list[str], chunk_bytes: int) -> list[tuple[int, int]]:
    """Consecutive doc ranges of about ``chunk_bytes`` characters each."""
    ends = np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)) + 1)
    spans, i = [], 0
    while i < len(docs):
        base = int(ends[i - 1]) if i else 0
        j = max(i + 1, int(np.searchsorted(ends, base + chunk_bytes, side="left")) + 1)
        j = min(j, len(docs))
        spans.append((i, j))
        i = j
    return spans


def _signatures_chunk(docs: list[str], k: int, num_perm: int, out: np.ndarray) -> None:
    """Signatures of ``docs`` into ``out`` (uint32 [len(docs), num_perm], C-contiguous)."""
    sh, sh_doc = shingle_hashes(docs, k)
    h = _mix(sh)
    if num_perm & (num_perm - 1) == 0:  # a power of two: the top bits pick the bin
        bins = h >> np.uint64(64 - (num_perm.bit_length() - 1)) if num_perm > 1 else np.zeros_like(h)
    else:
        bins = (h >> np.uint64(32)) % np.uint64(num_perm)
    slot = sh_doc * num_perm
    slot += bins.view(np.int64)  # < num_perm
    sig = np.full(len(docs) * num_perm, _EMPTY, dtype=np.uint32)
    np.minimum.at(sig, slot, h.astype(np.uint32))  # a bin keeps the minimum low 32 bits
    _densify(sig, num_perm, out.reshape(-1))


_EMPTY = np.uint32(0xFFFFFFFF)
_STEP = np.uint32(0x9E3779B1)  # densification offset per bin of distance (odd)
_POS_STEP: list[np.ndarray] = [np.zeros(0, np.uint32)]


def _pos_step(n: int) -> np.ndarray:
    """``arange(n) * _STEP`` (uint32, wrapping), cached and grown on demand (read-only, thread-safe)."""
    table = _POS_STEP[0]
    if len(table) < n:
        with np.errstate(over="ignore"):
            table = np.arange(max(n, 2 * len(table)), dtype=np.uint32) * _STEP
        _POS_STEP[0] = table
    return table[:n]


def _densify(sig: np.ndarray, num_perm: int, out: np.ndarray) -> None:
    """Fill the empty bins of the flat row-major ``sig`` (every row has >= 1 filled bin) into ``out``.

    An empty bin ``p`` copies the nearest filled bin ``src`` to its LEFT in its row, or, before the
    row's first filled bin, that first one, and adds ``(p - src) * C`` (mod 2^32). Any fixed probe
    order keeps ``P[sig_a[i] == sig_b[i]] = J`` up to 32-bit collisions (both docs agree exactly when
    the minimum of the first bin filled in A u B lies in A n B), and this one is a forward scan:
    ``value = z[rank - 1] + p * C`` with ``z = sig[filled] - pos * C`` and ``rank = cumsum(filled)``,
    clamped at each row's first filled bin.
    """
    filled = sig != _EMPTY
    fpos = np.flatnonzero(filled)
    if len(fpos) == len(sig):
        out[:] = sig
        return
    pc = _pos_step(len(sig))
    z = sig[fpos]
    z -= pc[fpos]
    rank = np.cumsum(filled, dtype=np.int32 if len(sig) < 2**31 else np.int64).reshape(-1, num_perm)
    before = rank[:, :1] - filled[::num_perm, None]  # filled bins before each row: index of its first
    rank -= 1
    np.maximum(rank, before, out=rank)
    np.take(z, rank.ravel(), out=out)
    out += pc


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


def candidate_pairs(sig: np.ndarray, b: int, r: int, window: int = 8, threads: int = 0) -> np.ndarray:
    """Unique (i, j), i < j, sharing a band bucket: int64 [n_pairs, 2], sorted.

    Within a bucket sorted by key, each doc is paired with the next ``window`` docs of the same bucket
    (all pairs for buckets up to window+1 docs; huge buckets stay linear, and union-find over the
    verified chain keeps their connectivity).

    A band's bucket key is a 64-bit hash of its ``r`` slots and the band number; its low bits are
    replaced by the doc number, so one plain ``np.sort`` per group of bands (no argsort) brings each
    bucket together and neighbours with equal high bits share a bucket. Two buckets merging in the
    remaining ``64 - log2(n)`` bits only adds a candidate, which is verified exactly anyway.
    """
    n = len(sig)
    if n < 2 or b < 1:
        return np.zeros((0, 2), dtype=np.int64)
    bits = np.uint64((n - 1).bit_length())
    low = np.uint64((1 << int(bits)) - 1)
    rng = np.random.default_rng(12345)  # fixed: band keys must be reproducible
    mult = rng.integers(1, 2**63, size=r, dtype=np.uint64) | np.uint64(1)
    salt = rng.integers(0, 2**63, size=b, dtype=np.uint64)
    ids = np.arange(n, dtype=np.uint64)[:, None]

    sig = np.ascontiguousarray(sig, dtype=np.uint32)
    # a band is 4r bytes of its row: read it as little-endian 64-bit words (the last one may overlap)
    offs = list(range(0, 4 * r - 7, 8)) + ([4 * r - 8] if r % 2 and r > 1 else [])

    def group_pairs(bands: range) -> list[np.ndarray]:
        nb = len(bands)
        key = np.empty((n, nb), dtype=np.uint64)
        step = max(1, (1 << 16) // nb)  # rows per block: the temporaries stay in cache
        for i in range(0, n, step):
            rows = min(step, n - i)
            with np.errstate(over="ignore"):
                if r == 1:
                    acc = sig[i : i + rows, bands.start : bands.stop].astype(np.uint64)
                else:
                    acc = np.zeros((rows, nb), dtype=np.uint64)
                    for o, m in zip(offs, mult):
                        at = sig.strides[0] * i + 4 * r * bands.start + o
                        w = np.ndarray((rows, nb), _LE64, sig, offset=at, strides=(sig.strides[0], 4 * r)).copy()
                        w *= m
                        acc += w
                acc += salt[bands.start : bands.stop]
                acc = _mix(acc)
            acc &= ~low
            acc |= ids[i : i + rows]
            key[i : i + rows] = acc
        key = key.ravel()
        key.sort()
        diff = key[1:] ^ key[:-1]
        same = np.zeros(len(key), dtype=bool)  # same[i]: key[i] and key[i + 1] share a bucket
        np.less_equal(diff, low, out=same[:-1])
        p = np.flatnonzero(same)
        found = []
        for w in range(1, min(window, n - 1) + 1):
            if not len(p):
                break
            found.append(np.stack([key[p] & low, key[p + w] & low], axis=1))
            p = p[same[p + w]]  # runs of w + 1 equal keys starting at p: p + w + 1 is in the bucket too
        return found

    workers = max(1, min(threads or os.cpu_count() or 1, b))
    groups = [range(b * g // workers, b * (g + 1) // workers) for g in range(workers)]
    out = [p for found in _run(group_pairs, groups, workers) for p in found]
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    code = _sorted_unique(np.minimum(pairs[:, 0], pairs[:, 1]) * n + np.maximum(pairs[:, 0], pairs[:, 1]))
    return np.stack([code // n, code % n], axis=1)


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


def _run(fn, items: list, threads: int = 0) -> list:
    """``[fn(x) for x in items]`` on up to ``threads`` threads (0 = one per CPU); numpy releases the GIL
    in its array loops and sorts, so numpy-heavy items run in parallel."""
    workers = min(threads or os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


def exact_jaccard(docs: list[str], pairs: np.ndarray, k: int, batch: int = 1 << 20, threads: int = 0) -> np.ndarray:
    """Exact Jaccard of the shingle sets of each pair (only the docs named in ``pairs`` are shingled).

    Vectorized: each involved doc's shingles (40-bit) in CSR form; a batch of pairs is turned into
    keys ``pair << 41 | shingle << 1 | side`` (side 0 = first doc, 1 = second) and sorted once. Each run
    of equal ``pair, shingle`` is one element of the union, and of the intersection when it holds both
    sides (its first key has side 0 and its last side 1), so repeated shingles in a doc count once.
    A 40-bit hash collision inside one pair (~|A||B|/2^40) is negligible. Batches hold at most
    ``batch`` pairs (< 2^23) and about 256k keys, and run on ``threads`` threads (0 = one per CPU).
    """
    if len(pairs) == 0:
        return np.zeros(0)
    pairs = np.asarray(pairs, dtype=np.int64)
    involved = _sorted_unique(pairs.ravel())
    local = np.searchsorted(involved, pairs)
    sub = [docs[i] for i in involved.tolist()]

    def shingle(ab: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        sh, sh_doc = shingle_hashes(sub[ab[0] : ab[1]], k)
        return sh, sh_doc + ab[0]

    parts = _run(shingle, _spans(sub, _CHUNK), threads)
    sh = np.concatenate([p[0] for p in parts])
    sh_doc = np.concatenate([p[1] for p in parts])
    if len(sh_doc) > 1 and (sh_doc[1:] < sh_doc[:-1]).any():  # short docs' shingles come last
        order = np.argsort(sh_doc, kind="stable")
        sh, sh_doc = sh[order], sh_doc[order]
    vals = (sh & _M40) << np.uint64(1)
    off = np.zeros(len(involved) + 1, dtype=np.int64)
    np.cumsum(np.bincount(sh_doc, minlength=len(involved)), out=off[1:])
    sizes = off[1:] - off[:-1]

    budget = 1 << 18  # keys per batch: the batch's arrays stay in cache
    cost = np.cumsum(sizes[local[:, 0]] + sizes[local[:, 1]])
    cuts = np.searchsorted(cost, np.arange(budget, int(cost[-1]), budget), side="right")
    cuts = np.union1d(np.concatenate([cuts, np.arange(0, len(pairs), min(batch, 1 << 23))]), [len(pairs)])
    cuts = cuts[cuts > 0]
    spans = list(zip(np.concatenate([[0], cuts[:-1]]).tolist(), cuts.tolist()))

    def batch_jaccard(ab: tuple[int, int]) -> np.ndarray:
        lo, hi = ab
        m = hi - lo
        docs_ab = np.concatenate([local[lo:hi, 0], local[lo:hi, 1]])
        tag = np.arange(m, dtype=np.uint64) << np.uint64(41)
        tag = np.concatenate([tag, tag | np.uint64(1)])
        lens = sizes[docs_ab]
        ends = np.cumsum(lens)
        pos = np.repeat(off[docs_ab] - ends + lens, lens)
        pos += np.arange(len(pos))
        keys = vals[pos]
        keys |= np.repeat(tag, lens)
        keys.sort()
        start = np.empty(len(keys), dtype=bool)  # first key of a run of equal (pair, shingle)
        start[0] = True
        np.greater(keys[1:] ^ keys[:-1], np.uint64(1), out=start[1:])
        first = np.flatnonzero(start)
        last = np.empty_like(first)
        last[:-1] = first[1:] - 1
        last[-1] = len(keys) - 1
        both = (keys[first] & np.uint64(1)) < (keys[last] & np.uint64(1))
        pair = (keys[first] >> np.uint64(41)).astype(np.int64)
        union = np.bincount(pair, minlength=m)
        return np.bincount(pair[both], minlength=m) / union

    return np.concatenate(_run(batch_jaccard, spans, threads))
