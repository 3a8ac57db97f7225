"""Kneser-Ney n-gram LM: a proper distribution, prefers seen patterns, round-trips without pickle."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codelewm.lm.ngram import NgramLM


def _corpus(n: int = 200, vocab: int = 20, seed: int = 0) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(vocab) for _ in range(rng.randrange(1, 30))] for _ in range(n)]


@pytest.mark.parametrize("order", [1, 2, 4])
def test_probabilities_sum_to_one_for_any_history(order: int) -> None:
    lm = NgramLM(order=order, vocab_size=20).fit(_corpus())
    for hist in ([], [3, 4, 5], [19, 19, 19], [lm._bos] * 3):
        total = sum(lm._prob(hist[-(order - 1) :] if order > 1 else [], w) for w in range(22))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_seen_sequences_are_more_natural_than_shuffled_ones() -> None:
    pattern = [1, 2, 3, 4, 5, 6, 7, 8]
    lm = NgramLM(order=3, vocab_size=10).fit([pattern] * 50 + _corpus(50, 10))
    shuffled = [8, 3, 6, 1, 7, 2, 5, 4]
    assert lm.nll(pattern) < lm.nll(shuffled)
    assert lm.cross_entropy(pattern) == pytest.approx(lm.nll(pattern) / (len(pattern) + 1))
    assert lm.nll([1, 2, 3]) > 0 and lm.nll([9, 9]) < float("inf")  # unseen tokens keep mass


def test_save_load_round_trip(tmp_path: Path) -> None:
    lm = NgramLM(order=4, vocab_size=20, discount=0.6).fit(_corpus())
    lm.save(tmp_path / "lm.parquet")
    back = NgramLM.load(tmp_path / "lm.parquet")
    assert (back.order, back.vocab_size, back.discount, back.n_tokens) == (4, 20, 0.6, lm.n_tokens)
    seq = _corpus(1, seed=5)[0]
    assert back.nll(seq) == lm.nll(seq)


def test_bad_input_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the vocabulary"):
        NgramLM(order=2, vocab_size=5).fit([[1, 7]])
    with pytest.raises(ValueError, match="order"):
        NgramLM(order=0, vocab_size=5)
    with pytest.raises(ValueError, match="discount"):
        NgramLM(order=2, vocab_size=5, discount=1.5)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="not a codelewm-ngram"):
        NgramLM.load(tmp_path / "other.parquet")
