"""Byte-level BPE tokenizer: fixed special ids, round trip, no <unk>, save/load, bad files fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from codelewm.config import ExtractConfig
from codelewm.data.tokenizer import SPECIAL_TOKENS, TokenizerError, load_tokenizer, train_tokenizer
from tests.data.datafixtures import MODULE

CFG = ExtractConfig(vocab_size=400, min_frequency=1)


def test_train_save_load_roundtrip(tmp_path: Path) -> None:
    tok = train_tokenizer([MODULE] * 3, CFG, tmp_path / "tokenizer.json")
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    text = "def clamp(x):\n\treturn 'é✓'  # ünïcode\n"
    enc = loaded.encode(text, add_special_tokens=False)
    assert loaded.decode(enc.ids) == text
    assert 1 not in enc.ids  # byte-level: never <unk>
    assert enc.ids == tok.encode(text, add_special_tokens=False).ids
    spans = list(dict.fromkeys(enc.offsets))  # a multi-byte char may span several byte tokens
    assert "".join(text[s:e] for s, e in spans) == text  # offsets tile the text (the mask relies on it)
    assert len(tok.encode(MODULE).ids) < len(MODULE) / 2  # merges were learned


def test_training_is_deterministic(tmp_path: Path) -> None:
    train_tokenizer([MODULE], CFG, tmp_path / "a.json")
    train_tokenizer([MODULE], CFG, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TokenizerError):
        load_tokenizer(tmp_path / "bad.json")
