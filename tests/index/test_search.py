import pytest
import torch

from codelewm.index.search import Index, query, search


def test_search_equals_brute_force_across_chunks() -> None:
    g = torch.Generator().manual_seed(0)
    corpus = torch.randn(1000, 16, generator=g)
    q = torch.randn(37, 16, generator=g)
    d, i = search(corpus, q, k=7, query_batch=10, chunk=128)  # forces chunk merging
    brute = ((q[:, None, :] - corpus[None]) ** 2).sum(-1)
    bd, bi = torch.topk(brute, 7, dim=1, largest=False)
    assert torch.equal(i, bi)
    assert torch.allclose(d, bd, atol=1e-4)


def test_k_larger_than_corpus_and_bad_k() -> None:
    corpus = torch.eye(3)
    d, i = search(corpus, corpus, k=10)
    assert i.shape == (3, 3) and i[:, 0].tolist() == [0, 1, 2] and torch.all(d[:, 0] == 0)
    with pytest.raises(ValueError):
        search(corpus, corpus, k=0)


def test_query_returns_ids() -> None:
    idx = Index(
        latents=torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]),
        ids=["a", "b", "c"],
        before_keys=["k", "k", "m"],
        splits=["test"] * 3,
    )
    hits = query(idx, torch.tensor([[0.9, 0.1]]), k=2)[0]
    assert [h["id"] for h in hits] == ["b", "a"] and hits[0]["rank"] == 1
    assert hits[0]["energy"] == pytest.approx(0.02, abs=1e-5)
