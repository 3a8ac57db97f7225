"""Token n-gram language model with interpolated Kneser–Ney smoothing: the naturalness baseline.

Code that was fixed reads more naturally than a mutant of it, so ranking candidates by how probable a
language model trained on the same training split finds them is the reranker a user would try first.
Candidates of one problem share their context and differ by a few tokens, so the ranking score is the
candidate's total negative log-probability (:meth:`NgramLM.nll`); the per-token cross-entropy is also
reported, and is weaker: it rewards edits that add predictable boilerplate (a try/except wrapper, a
guard), which lowers the mean without making the code more correct. It works on the pipeline
tokenizer's ids, so it sees exactly the states the world model sees.

Smoothing (Chen & Goodman's interpolated Kneser–Ney with one absolute discount ``D`` per order):
``P(w|h) = max(c(h w) − D, 0)/c(h) + D·N1+(h •)/c(h) · P(w|h')``, where the highest order counts
n-grams and every lower order counts *continuations* (the number of distinct tokens seen before the
n-gram), and the unigram level interpolates with the uniform distribution over the vocabulary, so
every token has non-zero probability. An unseen context backs off entirely to the lower order.

Keys are integers (a base-``V`` number of the token ids, one dict per order) rather than tuples, which
keeps a few million n-grams in a few hundred MB. Saved as a Parquet table of (order, key, count),
never pickled; a manifest-checked model dir is written by the ``lm`` stage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FORMAT = "codelewm-ngram-v1"


@dataclass
class NgramLM:
    order: int  # n of the highest-order n-gram
    vocab_size: int  # token ids are 0..vocab_size-1; BOS and EOS get two more ids
    discount: float = 0.75
    # per order n (1..order): n-gram key -> (continuation) count
    counts: list[dict[int, int]] = field(default_factory=list)
    n_tokens: int = 0

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ValueError(f"n-gram order must be >= 1, got {self.order}")
        if not 0.0 < self.discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {self.discount}")
        if not self.counts:
            self.counts = [{} for _ in range(self.order)]
        self._base = self.vocab_size + 2
        self._bos, self._eos = self.vocab_size, self.vocab_size + 1
        self._ctx: list[tuple[dict[int, int], dict[int, int]]] | None = None

    # -- training ---------------------------------------------------------------------------------
    def _key(self, toks: Sequence[int]) -> int:
        k = 0
        for t in toks:
            k = k * self._base + t
        return k

    def _padded(self, seq: Sequence[int]) -> list[int]:
        top = max(seq, default=-1)
        if top >= self.vocab_size or min(seq, default=0) < 0:
            raise ValueError(f"token id {top} outside the vocabulary of {self.vocab_size}")
        return [self._bos] * (self.order - 1) + list(seq) + [self._eos]

    def fit(self, sequences: Iterable[Sequence[int]]) -> NgramLM:
        """Count n-grams of every sequence (each padded with BOS and closed with EOS)."""
        n = self.order
        top = self.counts[n - 1]
        seen_lower: list[set[int]] = [set() for _ in range(n - 1)]  # distinct (left token, n-gram) pairs
        for seq in sequences:
            toks = self._padded(seq)
            self.n_tokens += len(toks) - (n - 1)
            for i in range(n - 1, len(toks)):
                k = self._key(toks[i - n + 1 : i + 1])
                top[k] = top.get(k, 0) + 1
                # continuation counts: the lower-order n-gram ending at i, once per distinct left token
                for m in range(1, n):
                    gram = toks[i - m + 1 : i + 1]
                    left = toks[i - m]
                    pair = self._key([left, *gram])
                    if pair not in seen_lower[m - 1]:
                        seen_lower[m - 1].add(pair)
                        g = self._key(gram)
                        self.counts[m - 1][g] = self.counts[m - 1].get(g, 0) + 1
        self._ctx = None
        return self

    def _contexts(self) -> list[tuple[dict[int, int], dict[int, int]]]:
        """Per order: context key -> total count, context key -> distinct continuations."""
        if self._ctx is None:
            self._ctx = []
            for counts in self.counts:
                total: dict[int, int] = {}
                types: dict[int, int] = {}
                for k, c in counts.items():
                    h = k // self._base
                    total[h] = total.get(h, 0) + c
                    types[h] = types.get(h, 0) + 1
                self._ctx.append((total, types))
        return self._ctx

    # -- scoring ----------------------------------------------------------------------------------
    def _prob(self, hist: list[int], w: int) -> float:
        ctx = self._contexts()
        p = 1.0 / self._base  # uniform floor (BOS/EOS included)
        for m in range(1, self.order + 1):  # lower orders first, each interpolates the previous p
            h = hist[len(hist) - (m - 1) :] if m > 1 else []
            hk = self._key(h)
            total, types = ctx[m - 1]
            c_h = total.get(hk, 0)
            if c_h == 0:
                continue  # unseen context: all mass from the lower order
            c = self.counts[m - 1].get(hk * self._base + w, 0)
            p = max(c - self.discount, 0.0) / c_h + self.discount * types[hk] / c_h * p
        return p

    def nll(self, seq: Sequence[int]) -> float:
        """Negative log2-probability of the whole sequence (EOS included): lower = more natural."""
        toks = self._padded(seq)
        n = self.order
        out = 0.0
        for i in range(n - 1, len(toks)):
            out -= math.log2(self._prob(toks[i - n + 1 : i], toks[i]))
        return out

    def cross_entropy(self, seq: Sequence[int]) -> float:
        """Mean negative log2-probability per token (EOS included) of one sequence."""
        return self.nll(seq) / (len(seq) + 1)

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        orders, keys, vals = [], [], []
        for m, counts in enumerate(self.counts, start=1):
            for k, c in sorted(counts.items()):
                orders.append(m)
                keys.append(str(k))  # base-V keys exceed int64 for large vocabularies and orders
                vals.append(c)
        table = pa.table(
            {
                "order": pa.array(orders, pa.int8()),
                "key": pa.array(keys, pa.string()),
                "count": pa.array(vals, pa.int64()),
            }
        )
        meta = {"format": FORMAT, "order": self.order, "vocab_size": self.vocab_size, "discount": self.discount,
                "n_tokens": self.n_tokens}  # fmt: skip
        pq.write_table(table.replace_schema_metadata({"codelewm": json.dumps(meta, sort_keys=True)}), path)

    @classmethod
    def load(cls, path: Path) -> NgramLM:
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"codelewm")
        meta = json.loads(raw) if raw else {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} n-gram model")
        lm = cls(order=int(meta["order"]), vocab_size=int(meta["vocab_size"]), discount=float(meta["discount"]))
        lm.n_tokens = int(meta["n_tokens"])
        for m, k, c in zip(table["order"].to_pylist(), table["key"].to_pylist(), table["count"].to_pylist()):
            if not 1 <= m <= lm.order:
                raise ValueError(f"{path}: order {m} outside 1..{lm.order}")
            lm.counts[m - 1][int(k)] = c
        return lm
