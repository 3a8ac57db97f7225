"""The lm stage: trained on the train split's real code only, refuses another tokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codelewm.config import LMConfig
from codelewm.lm.train import LMLoadError, load_lm, real_code_sequences, run_lm


def test_corpus_is_the_real_code_of_each_family() -> None:
    rows = [
        {"family": "edit", "before_ids": [1, 2], "after_ids": [1, 3]},  # real code -> mutant
        {"family": "edit", "before_ids": [1, 2], "after_ids": [1, 4]},  # same before: counted once
        {"family": "fix", "before_ids": [5, 6], "after_ids": [5, 7]},  # buggy -> real code
        {"family": "wrong_fix", "before_ids": [5, 6], "after_ids": [8, 6]},  # mutant of a mutant
        {"family": "commit", "before_ids": [9], "after_ids": [9, 9]},
    ]
    assert real_code_sequences(rows) == [[1, 2], [5, 7], [9], [9, 9]]


def test_run_lm_on_the_world(tiny_world: dict, tmp_path: Path) -> None:
    m = run_lm(LMConfig(order=3), tiny_world["shards"], tiny_world["tokenizer"], tmp_path / "lm")
    assert m["stage"] == "lm" and m["sequences"] > 0 and m["tokens"] > 0
    assert m["val_cross_entropy_bits"] > 0
    assert set(json.loads((tmp_path / "lm" / "manifest.json").read_text())["files"]) >= {"ngram.parquet"}
    lm = load_lm(tmp_path / "lm", tiny_world["tokenizer"])
    assert lm.order == 3
    other = tmp_path / "other-tokenizer.json"
    shutil.copy(tiny_world["tokenizer"], other)
    other.write_text(other.read_text().replace('"<pad>"', '"<pad>" '))
    with pytest.raises(LMLoadError, match="another tokenizer"):
        load_lm(tmp_path / "lm", other)
    with pytest.raises(LMLoadError, match="run the lm stage"):
        load_lm(tmp_path / "missing", tiny_world["tokenizer"])
