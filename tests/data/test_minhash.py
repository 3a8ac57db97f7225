"""MinHash internals: token definition and hashing, signatures, banding and exact verification."""

from __future__ import annotations

import random
import re
from itertools import combinations

import numpy as np
import pytest

from bench.data import make_neardup_corpus
from codelewm.data.minhash import (
    _densify,
    _encode,
    _tokens,
    candidate_pairs,
    estimated_jaccard,
    exact_jaccard,
    shingle_hashes,
    signatures,
    token_hashes,
)

# the token definition: identifier runs ([A-Za-z0-9_] and non-ASCII bytes) or one punctuation byte
_TOKEN = re.compile(rb"[A-Za-z0-9_\x80-\xff]+|[\x21-\x7e]")
_ALPHABET = "ab_Z9 \t\n\r\x0b(){}.,;:=+-*/\\\"'#@$%^&~`|<>?!\x7f\x01éü中😀\ud800"


def _ref_tokens(doc: str) -> list[bytes]:
    return _TOKEN.findall(doc.encode("utf-8", "surrogatepass"))


def _ref_shingles(doc: str, k: int) -> set[tuple[bytes, ...]]:
    t = _ref_tokens(doc)
    return {tuple(t[i : i + k]) for i in range(len(t) - k + 1)} if len(t) >= k else {tuple(t)}


def _ref_jaccard(a: str, b: str, k: int) -> float:
    sa, sb = _ref_shingles(a, k), _ref_shingles(b, k)
    return len(sa & sb) / len(sa | sb)


def test_tokens_match_reference_definition() -> None:
    rng = random.Random(0)
    for _ in range(300):
        doc = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 120)))
        _raw, buf = _encode([doc])
        starts, length = _tokens(buf)
        raw = doc.encode("utf-8", "surrogatepass")
        assert [raw[s : s + n] for s, n in zip(starts.tolist(), length.tolist())] == _ref_tokens(doc), doc
        assert token_hashes(doc)[0] == _ref_tokens(doc)


def test_token_hash_independent_of_offset_alignment_and_doc() -> None:
    words = ["x", "name12345", "abcdefgh", "abcdefghi", "a" * 16, "a" * 17, "é", "naïve_ünïcode_identifier_42", "("]
    for word in words:
        seen = set()
        for pad in range(10):  # every alignment mod 8, after whitespace or punctuation
            for prefix in (" " * pad, "(" * pad, "\n" * pad):
                toks, h = token_hashes(prefix + word + " tail")
                assert toks[-2] == word.encode()
                seen.add(int(h[-2]))
        assert len(seen) == 1, word
    # the same tokens inside a multi-doc chunk: shingles of equal docs are equal wherever they sit
    docs = ["a " * pad + "long_identifier_name_x ( y ) = z" for pad in range(9)]
    sh, sh_doc = shingle_hashes(["zz " * 3 + d for d in docs], 5)
    last = {d: int(sh[sh_doc == d][-1]) for d in range(len(docs))}
    assert len(set(last.values())) == 1


def test_token_hash_sees_every_byte() -> None:
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    for n in (1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 40):
        base = "".join(rng.choice(letters) for _ in range(n))
        variants = {base}
        for i in range(n):  # change any one byte, ASCII or to a non-ASCII char
            variants.add(base[:i] + ("Z" if base[i] != "Z" else "Y") + base[i + 1 :])
            variants.add(base[:i] + "é" + base[i + 1 :])
        variants |= {base + "a", base[:-1] or "q", base + "é", "é" + base}  # prefixes and extensions
        hashes = {int(token_hashes(v)[1][0]) for v in variants}
        assert all(len(token_hashes(v)[0]) == 1 for v in variants)
        assert len(hashes) == len(variants), n
    assert len({int(token_hashes(c)[1][0]) for c in ["é", "è", "ü", "中", "😀"]}) == 5


def test_signatures_independent_of_chunking_threads_and_neighbours() -> None:
    docs, _ = make_neardup_corpus(300, 3)
    docs += ["", "   ", "x", "a b", "(", "é ü 中", "\ud800 x"]
    for num_perm in (128, 100):
        ref = signatures(docs, 5, num_perm, threads=1)
        for chunk_bytes, threads in ((1, 1), (97, 2), (4096, 4), (1 << 22, 2)):
            assert np.array_equal(signatures(docs, 5, num_perm, chunk_bytes=chunk_bytes, threads=threads), ref)
        for i in (0, 150, len(docs) - 1):
            assert np.array_equal(signatures([docs[i]], 5, num_perm)[0], ref[i])
    empty = signatures(["", " \n "], 5, 64)
    assert np.array_equal(empty[0], empty[1])


def test_densify_matches_reference() -> None:
    rng = np.random.default_rng(0)
    for num_perm in (8, 128, 100):
        sig = rng.integers(0, 2**32 - 1, size=(50, num_perm), dtype=np.uint32)
        sig[rng.random(sig.shape) < 0.7] = 0xFFFFFFFF
        sig[np.arange(50), rng.integers(0, num_perm, 50)] = 7  # every row has a filled bin
        sig[0] = 0xFFFFFFFF
        sig[0, num_perm - 1] = 9  # only the last bin
        out = np.empty_like(sig)
        _densify(sig.ravel(), num_perm, out.reshape(-1))
        for row, got in zip(sig, out):
            filled = [j for j in range(num_perm) if row[j] != 0xFFFFFFFF]
            for j in range(num_perm):
                left = [f for f in filled if f <= j]
                src = left[-1] if left else filled[0]
                assert got[j] == (int(row[src]) + (j - src) * 0x9E3779B1) % 2**32


def test_jaccard_estimate_unbiased_on_known_pairs() -> None:
    docs, planted = make_neardup_corpus(3000, 5, dup_fraction=0.3)
    rng = random.Random(2)
    for i, j in planted[:150]:  # lower Jaccards: drop a run of tokens from a near-duplicate
        toks = docs[j].split(" ")
        cut = rng.randint(5, len(toks) // 2)
        docs.append(" ".join(toks[:cut] + toks[cut + rng.randint(5, 40) :]))
        planted.append((i, len(docs) - 1))
    pairs = np.array(planted)
    sig = signatures(docs, 5, 128)
    est = estimated_jaccard(sig, pairs)
    exact = exact_jaccard(docs, pairs, 5)
    ref = np.array([_ref_jaccard(docs[i], docs[j], 5) for i, j in planted])
    assert np.allclose(exact, ref)
    err = est - exact
    assert exact.min() < 0.6 and exact.max() > 0.9
    assert abs(err.mean()) < 0.015  # unbiased
    assert np.abs(err).mean() < 0.05  # ~sqrt(J(1-J)/128)
    assert np.abs(err).max() < 0.2
    others = np.array([(a, a + 1) for a in range(0, 400, 2)])
    unrelated = others[exact_jaccard(docs, others, 5) < 0.05]
    assert len(unrelated) > 150 and estimated_jaccard(sig, unrelated).max() < 0.1


def test_candidate_pairs_match_bucket_reference() -> None:
    rng = np.random.default_rng(3)
    n, b, r = 400, 6, 4
    sig = rng.integers(0, 2**32, size=(n, 32), dtype=np.uint32)
    for _ in range(120):  # shared bands, including buckets of more than window + 1 docs
        band = int(rng.integers(0, b))
        group = rng.choice(n, size=int(rng.integers(2, 14)), replace=False)
        sig[group, band * r : (band + 1) * r] = sig[group[0], band * r : (band + 1) * r]
    for window in (1, 3, 8):
        want = set()
        for band in range(b):
            buckets: dict[bytes, list[int]] = {}
            for i in range(n):
                buckets.setdefault(sig[i, band * r : (band + 1) * r].tobytes(), []).append(i)
            for members in buckets.values():
                for x, y in combinations(range(len(members)), 2):
                    if y - x <= window:
                        want.add((members[x], members[y]))
        got = candidate_pairs(sig, b, r, window=window)
        assert [tuple(p) for p in got.tolist()] == sorted(want)
        assert np.array_equal(candidate_pairs(sig, b, r, window=window, threads=1), got)
    odd = candidate_pairs(sig[:, :30], 10, 3)  # odd r: the band's last word overlaps
    assert np.array_equal(odd, candidate_pairs(np.ascontiguousarray(sig[:, :30]), 10, 3, threads=1))
    assert candidate_pairs(sig[:1], b, r).shape == (0, 2)


@pytest.mark.parametrize("batch", [1, 7, 1 << 20])
def test_exact_jaccard_matches_python_sets(batch: int) -> None:
    rng = random.Random(4)
    vocab = ["a", "b", "c", "(", ")", "x1", "é"]
    docs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 30))) for _ in range(60)]
    docs += ["", "a", "a b c d e a b c d e a b c d e", "a b c d e"]
    pairs = np.array([(i, j) for i in range(len(docs)) for j in range(i + 1, len(docs)) if rng.random() < 0.2])
    got = exact_jaccard(docs, pairs, 5, batch=batch, threads=2)
    want = [_ref_jaccard(docs[i], docs[j], 5) for i, j in pairs.tolist()]
    assert np.allclose(got, want)
    assert exact_jaccard(docs, np.zeros((0, 2), np.int64), 5).shape == (0,)
