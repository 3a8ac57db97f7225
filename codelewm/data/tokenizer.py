"""Byte-level BPE tokenizer trained by the pipeline on the train split only.

Byte-level so any Python source (odd unicode, tabs) round-trips without ``<unk>``; trained with the
``tokenizers`` library (Rust, streaming iterator input). Special tokens have fixed ids so the model and
padding code can rely on them: ``<pad>=0, <unk>=1, <bos>=2, <eos>=3, <sep>=4``. Encodings carry no
special tokens (no post-processor): the model adds its own, and offsets map 1:1 onto the state text,
which the changed-line mask relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from codelewm.config import ExtractConfig

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>", "<sep>")
PAD_ID = 0


class TokenizerError(RuntimeError):
    """The tokenizer file is missing, unreadable or lacks the fixed special-token ids."""


def _check_specials(tok: Tokenizer, where: str) -> None:
    for i, name in enumerate(SPECIAL_TOKENS):
        got = tok.token_to_id(name)
        if got != i:
            raise TokenizerError(f"{where}: special token {name} has id {got}, expected {i}")


def new_tokenizer() -> Tokenizer:
    """An untrained byte-level BPE tokenizer with our pre-tokenizer/decoder settings."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    # add_prefix_space=False: "def" at line start and " def" mid-line stay distinct, as in source.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], cfg: ExtractConfig, out_path: Path | None = None) -> Tokenizer:
    """Train BPE on ``texts`` (train-split state lines, instructions, edit-op strings: see
    ``extract.tokenizer_texts``); save if ``out_path``."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        min_frequency=cfg.min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is ever <unk>
        show_progress=False,
    )

    def _iter() -> Iterator[str]:
        yield from texts

    tok.train_from_iterator(_iter(), trainer=trainer)
    _check_specials(tok, "trained tokenizer")
    if out_path is not None:
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tok.save(str(out_path))
    return tok


def load_tokenizer(path: Path | str) -> Tokenizer:
    """Load a tokenizer.json written by :func:`train_tokenizer`; fails loudly if it is not ours."""
    path = Path(path)
    if not path.is_file():
        raise TokenizerError(f"tokenizer file not found: {path}")
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as e:  # the Rust side raises a bare Exception on malformed JSON
        raise TokenizerError(f"cannot read tokenizer {path}: {e}") from e
    _check_specials(tok, str(path))
    return tok
