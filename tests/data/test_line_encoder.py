"""LineEncoder: the spliced per-line encoding equals the whole-text encoding, token for token."""

from __future__ import annotations

import difflib
import random

import numpy as np
import pytest
from tokenizers import pre_tokenizers

from codelewm.config import ExtractConfig
from codelewm.data.codestate import Indexer, build_state
from codelewm.data.featurize import changed_after_lines, changed_line_mask, unified_diff
from codelewm.data.line_encoder import LineEncoder, StateEncoding, splice_is_exact
from codelewm.data.tokenizer import train_tokenizer
from tests.data.datafixtures import MODULE

# words that stress the split regex at a line break: contractions, digits, unicode letters and
# symbols, special-token text, quotes, tabs and odd whitespace inside lines
_WORDS = [
    "def",
    "return",
    "self",
    "x1",
    "_y",
    "42",
    "3.5e-3",
    "'s",
    "'t",
    "it's",
    "(",
    ")",
    ":",
    "->",
    "==",
    "+=",
    "#",
    "'''",
    '"',
    "é",
    "ünï",
    "✓",
    "变量",
    "<pad>",
    "<sep>",
    "\t",
    "  ",
    "\u3000",
    "\x0c",
    "…",
]


def _random_line(rng: random.Random) -> str:
    words = (rng.choice(_WORDS) + rng.choice(("", " ")) for _ in range(rng.randint(1, 8)))
    line = " " * rng.choice((0, 2, 4, 8)) + "".join(words)
    if rng.random() < 0.8:
        line = line.rstrip()  # mostly normalized lines; some keep trailing whitespace (whole-text path)
    return line


def _random_text(rng: random.Random) -> str:
    return "\n".join(_random_line(rng) for _ in range(rng.randint(1, 12)))


def _texts() -> list[str]:
    idx = Indexer().index(MODULE)
    states = [build_state(idx, q) for q in idx.symbols]
    rng = random.Random(0)
    return [s.render(k) for s in states for k in (0, 2, 24)] + [_random_text(rng) for _ in range(400)]


@pytest.fixture(scope="module")
def tok():  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    corpus = [MODULE] * 2 + [_random_text(rng) for _ in range(200)]
    return train_tokenizer(corpus, ExtractConfig(vocab_size=600, min_frequency=1))


def _same(a: StateEncoding, b: StateEncoding) -> bool:
    return (
        a.ids == b.ids
        and np.array_equal(a.first, b.first)
        and np.array_equal(a.last, b.last)
        and np.array_equal(a.line_tokens, b.line_tokens)
    )


def test_spliced_equals_whole_text_encoding(tok) -> None:  # type: ignore[no-untyped-def]
    enc = LineEncoder(tok)
    assert enc.splice_exact
    texts = _texts()
    spliced = 0
    for text in texts:
        got, ref = enc.encode(text), enc.encode_whole(text)
        assert _same(got, ref), text
        assert ref.ids == tok.encode(text, add_special_tokens=False).ids
        lines = text.split("\n")
        spliced += all(x and x[-1].isascii() and not x[-1].isspace() for x in lines)
    assert spliced > 50 and len(texts) - spliced > 50  # both paths were exercised
    again = [enc.encode(t).ids for t in texts]  # cached pieces give the same answer
    assert again == [enc.encode_whole(t).ids for t in texts]


def test_cache_is_bounded(tok) -> None:  # type: ignore[no-untyped-def]
    enc = LineEncoder(tok, max_cache=50)
    for text in _texts():
        enc.encode(text)
        assert len(enc._cache) <= 50 + text.count("\n") + 1


def test_other_tokenizer_settings_use_whole_text(tok) -> None:  # type: ignore[no-untyped-def]
    other = train_tokenizer([MODULE], ExtractConfig(vocab_size=300, min_frequency=1))
    other.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    assert not splice_is_exact(other)
    enc = LineEncoder(other)
    text = "def f(x):\n    return x"
    assert enc.encode(text).ids == other.encode(text, add_special_tokens=False).ids


def test_mask_matches_offset_reference(tok) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(2)
    enc = LineEncoder(tok)
    for _ in range(200):
        before = [_random_line(rng).rstrip() or "x" for _ in range(rng.randint(1, 10))]
        after = list(before)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(after) + 1)
            if rng.random() < 0.5 and after:
                after[min(i, len(after) - 1)] = _random_line(rng).rstrip() or "y"
            else:
                after.insert(i, _random_line(rng).rstrip() or "z")
        b_text, a_text = "\n".join(before), "\n".join(after)
        offsets = tok.encode(a_text, add_special_tokens=False).offsets
        sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
        got = enc.encode(a_text).mask(changed_after_lines(sm.get_opcodes(), len(after)))
        assert got == changed_line_mask(b_text, a_text, offsets)


def test_unified_diff_matches_difflib() -> None:
    rng = random.Random(3)
    for _ in range(200):
        a = [rng.choice("abcdefg") * rng.randint(1, 3) for _ in range(rng.randint(0, 30))]
        b = [x for x in a if rng.random() > 0.1] + [rng.choice("xyz") for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.2:
            rng.shuffle(b)
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        assert unified_diff(sm, a, b) == "\n".join(difflib.unified_diff(a, b, "before", "after", lineterm=""))
