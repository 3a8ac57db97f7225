"""Exact, cached line-by-line encoding of normalized state text, with per-token line spans.

Featurizing encodes the same lines over and over: siblings share their before-state, an after-state
shares all but a few lines with its before-state, and context lines (imports, sibling signatures)
repeat for every symbol of a file. For our byte-level BPE (GPT-2 split regex, no prefix space, no
normalizer, see :mod:`codelewm.data.tokenizer`) a line break that follows a non-whitespace character
is always a pre-token boundary: no alternative of the split regex matches across ``<non-space>\\n``
(letters, digits and punctuation runs stop at whitespace; whitespace runs start at the ``\\n``), and
BPE merges never cross pre-tokens. Hence, token for token::

    encode("\\n".join(lines)) == encode(lines[0]) + encode("\\n" + lines[1]) + ...

so each piece is encoded once and cached. Normalized states satisfy the condition (lines are
right-stripped, blank lines dropped). Texts with a line that is empty or ends in whitespace or a
non-ASCII character (where Unicode ``\\s`` and ``str.isspace`` could disagree), and tokenizers with
other settings, take the whole-text path, which gives the same :class:`StateEncoding` from offsets.
Both paths are tested against each other.

Token-to-line spans feed the changed-line mask: a token is marked iff it overlaps the *content* of a
changed line (its characters up to, not including, the line's newline). A token that is only the
newline ending line ``i - 1`` overlaps no content; ``"\\n    "`` overlaps line ``i`` (indentation is
content).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer, pre_tokenizers

_SAFE_LAST = frozenset(chr(c) for c in range(0x21, 0x7F))  # printable ASCII, not space
_BYTE_NEWLINE = "\u010a"  # the byte-level alphabet's symbol for b"\n" ("Ċ")


@dataclass(frozen=True)
class StateEncoding:
    """Token ids of a state text plus, per token, the lines whose content it overlaps.

    ``first[t]..last[t]`` (inclusive) are those lines; ``last[t] == first[t] - 1`` when the token
    overlaps none (a bare newline). ``line_tokens[i]`` counts the tokens that START in line ``i``'s
    span including its trailing newline, as the whole-text offsets attribute them.
    """

    ids: list[int]
    first: np.ndarray
    last: np.ndarray
    line_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, changed: np.ndarray) -> list[int]:
        """1 for each token overlapping the content of a line with ``changed[line]`` true."""
        return span_mask(self.first, self.last, changed)


def span_mask(first: np.ndarray, last: np.ndarray, changed: np.ndarray) -> list[int]:
    """1 for each token whose content lines ``first..last`` include one with ``changed[line]`` true."""
    csum = np.concatenate([[0], np.cumsum(changed, dtype=np.int64)])
    return (csum[last + 1] > csum[first]).astype(np.int8).tolist()


def spans_from_offsets(text: str, offsets: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first, last, line_tokens) of :class:`StateEncoding` from character offsets into ``text``."""
    lens = np.array([len(x) for x in text.split("\n")], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
    if not offsets:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(len(lens), dtype=np.int64)
    off = np.asarray(offsets, dtype=np.int64)
    line = np.searchsorted(starts, off[:, 0], side="right") - 1
    # a token starting exactly on a line's newline begins its content on the next line
    first = line + (off[:, 0] >= starts[line] + lens[line])
    last = np.searchsorted(starts, np.maximum(off[:, 1] - 1, off[:, 0]), side="right") - 1
    last = np.maximum(last, first - 1)
    return first, last, np.bincount(line, minlength=len(lens))


class LineEncoder:
    """Encodes state texts line by line through a bounded piece cache (exact; see module docstring)."""

    def __init__(self, tokenizer: Tokenizer, max_cache: int = 1 << 17):
        self.tok = tokenizer
        self.max_cache = max_cache
        self.splice_exact = splice_is_exact(tokenizer)
        self._newline_id = tokenizer.token_to_id(_BYTE_NEWLINE)
        self._cache: dict[str, tuple[int, ...]] = {}

    def encode(self, text: str) -> StateEncoding:
        lines = text.split("\n")
        if not (self.splice_exact and all(line and line[-1] in _SAFE_LAST for line in lines)):
            return self.encode_whole(text)
        keys = [lines[0], *("\n" + line for line in lines[1:])]
        cache = self._cache
        missing = [k for k in dict.fromkeys(keys) if k not in cache]
        if missing:
            if len(cache) + len(missing) > self.max_cache:
                cache.clear()
            encode = self.tok.encode  # one call per piece: a batch call's thread pool costs more CPU
            for k in missing:
                cache[k] = tuple(encode(k, add_special_tokens=False).ids)
        pieces = [cache[k] for k in keys]
        lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        ids = list(itertools.chain.from_iterable(pieces))
        first = np.repeat(np.arange(len(pieces), dtype=np.int64), lens)
        last = first.copy()
        nl = self._newline_id  # later pieces whose first token is a bare "\n" (it overlaps no content)
        bare = [i for i in range(1, len(pieces)) if pieces[i][0] == nl]
        if bare:
            last[np.cumsum(lens)[np.asarray(bare) - 1]] -= 1  # cumsum[i - 1]: index of piece i's first token
        line_tokens = lens.copy()
        line_tokens[1:] -= 1  # a piece's leading newline token starts in the previous line's span
        line_tokens[:-1] += 1
        return StateEncoding(ids, first, last, line_tokens)

    def encode_whole(self, text: str) -> StateEncoding:
        """Reference path: one encode of the whole text, spans from its offsets."""
        enc = self.tok.encode(text, add_special_tokens=False)
        return StateEncoding(list(enc.ids), *spans_from_offsets(text, enc.offsets))


def splice_is_exact(tok: Tokenizer) -> bool:
    """True for the tokenizer settings the splice identity is proven for (ours: see tokenizer.py)."""
    pre = tok.pre_tokenizer
    return (
        tok.normalizer is None
        and isinstance(pre, pre_tokenizers.ByteLevel)
        and not pre.add_prefix_space
        and pre.use_regex
        and tok.token_to_id(_BYTE_NEWLINE) is not None
        and type(tok.model).__name__ == "BPE"
        and not tok.model.dropout
    )
