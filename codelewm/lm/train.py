"""Stage ``lm``: the naturalness baseline, a Kneser–Ney token n-gram LM trained on the train split.

Its corpus is the *real code* of the training split (:func:`codelewm.records.real_code_sides`): the
before-states of edits, the after-states of fixes, both sides of commits, each distinct state once; a
mutated state (a bug the source injected) is never a training sentence. It uses the pipeline tokenizer,
so it scores exactly the token sequences the world model sees. Writes ``ngram.parquet``,
``config.json`` (order, discount, the tokenizer's sha256: scoring refuses another tokenizer),
``metrics.json`` (corpus size, held-out cross-entropy) and ``manifest.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from codelewm.config import LMConfig
from codelewm.lm.ngram import NgramLM
from codelewm.records import real_code_sides
from codelewm.rowio import read_split
from codelewm.stageio import Stage, sha256_file, write_json

STAGE = "lm"
COLUMNS = ["family", "before_ids", "after_ids"]


def real_code_sequences(rows: Iterable[dict[str, Any]]) -> list[list[int]]:
    """Distinct token sequences of the rows' real-code states, in first-seen order."""
    seen: set[tuple[int, ...]] = set()
    out: list[list[int]] = []
    for r in rows:
        for side in real_code_sides(r["family"]):
            seq = tuple(r[f"{side}_ids"])
            if seq and seq not in seen:
                seen.add(seq)
                out.append(list(seq))
    return out


class LMLoadError(RuntimeError):
    """No usable language model at the given path (train it with the ``lm`` stage)."""


def load_lm(lm_dir: Path, tokenizer_path: Path) -> NgramLM:
    """The trained n-gram LM of ``lm_dir``; refuses one trained with a different tokenizer than the one
    that will produce the ids it scores."""
    lm_dir = Path(lm_dir)
    cfg_path, model_path = lm_dir / "config.json", lm_dir / "ngram.parquet"
    if not cfg_path.is_file() or not model_path.is_file():
        raise LMLoadError(f"{lm_dir}: no trained language model (config.json + ngram.parquet); run the lm stage")
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if cfg.get("tokenizer_sha256") != sha256_file(Path(tokenizer_path)):
        raise LMLoadError(f"{lm_dir} was trained with another tokenizer than {tokenizer_path}")
    try:
        return NgramLM.load(model_path)
    except (ValueError, OSError) as e:
        raise LMLoadError(f"{model_path}: {e}") from e


def run_lm(cfg: LMConfig, shards_dir: Path, tokenizer_path: Path, out_dir: Path) -> dict[str, Any]:
    """Train the n-gram LM on the train split's real code; evaluate it on the val split's."""
    shards_dir, tokenizer_path = Path(shards_dir), Path(tokenizer_path)
    with Stage(STAGE, Path(out_dir), params={"lm": cfg}, parents=[shards_dir, tokenizer_path]) as st:
        train = read_split(shards_dir, "train", columns=COLUMNS)
        seqs = real_code_sequences(train)
        if not seqs:
            raise ValueError(f"{shards_dir}/train: no real-code states to train the language model on")
        tok_vocab = _tokenizer_vocab(tokenizer_path)
        top = max(max(s) for s in seqs)
        if top >= tok_vocab:
            raise ValueError(f"token id {top} >= tokenizer vocab size {tok_vocab}: shards and tokenizer disagree")
        lm = NgramLM(order=cfg.order, vocab_size=tok_vocab, discount=cfg.discount).fit(seqs)
        lm.save(st.output("ngram.parquet"))
        val = real_code_sequences(read_split(shards_dir, "val", columns=COLUMNS))
        val_ce = float(np.mean([lm.cross_entropy(s) for s in val])) if val else float("nan")
        config = {"order": cfg.order, "discount": cfg.discount, "vocab_size": tok_vocab,
                  "tokenizer_sha256": sha256_file(tokenizer_path)}  # fmt: skip
        write_json(st.output("config.json"), config)
        st.funnel.keep(len(train))  # every train row read; its real-code states are the corpus
        st.metrics.update(
            sequences=len(seqs),
            tokens=lm.n_tokens,
            ngrams={str(n + 1): len(c) for n, c in enumerate(lm.counts)},
            val_sequences=len(val),
            val_cross_entropy_bits=val_ce,
        )
    return st.result


def _tokenizer_vocab(path: Path) -> int:
    from codelewm.data.tokenizer import load_tokenizer

    return load_tokenizer(path).get_vocab_size()
