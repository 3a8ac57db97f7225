"""Featurization: (before file, after file, instruction[, symbol]) -> EXAMPLE_SCHEMA feature fields.

:class:`Featurizer` is the single featurization path: the extract stage uses it for training data and
the scorer, evaluation and downstream code use it for candidates, so both are tokenized identically.

Truncation policy: a state over ``max_state_tokens`` first loses context lines (imports, then sibling
signatures; class headers stay), the budget read off per-line token counts and re-checked on the real
encoding; if the headers plus the symbol alone do not fit, the row is quarantined with
``state_too_long`` (the symbol is never cut: a truncated function is a different state). Actions are
truncated to ``max_action_tokens``.

Changed-line mask: the normalized before/after state lines are aligned with ``difflib``; a token of the
FINAL after ids is marked iff its character span overlaps the content of an after-line that was
replaced or inserted. Normalization runs first, so pure re-indentation is not a change. States are
encoded line by line through an exact cache (:mod:`codelewm.data.line_encoder`), which also gives
each token's line span.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from codelewm.config import ExtractConfig
from codelewm.data.codestate import (
    CodeState,
    ExtractError,
    Indexer,
    build_state,
    edited_symbol_sources,
    find_changed_symbol,
    fragment_text,
    parse_fragment,
)
from codelewm.data.editops import edit_ops
from codelewm.data.line_encoder import LineEncoder, StateEncoding, span_mask, spans_from_offsets
from codelewm.data.tokenizer import PAD_ID, load_tokenizer

COMMENT_ONLY_OP = "edit comment"  # text changed but the AST did not (comments, docstring whitespace)

__all__ = ["COMMENT_ONLY_OP", "ExtractError", "Featurizer", "changed_line_mask", "states_for", "unified_diff"]


def states_for(
    ix: Indexer, before_file: str, after_file: str, symbol: str = "", before_index: str = ""
) -> tuple[str, CodeState, CodeState, list[str]]:
    """(resolved symbol, before CodeState, after CodeState, edit ops) for one transition;
    ``before_index``: the row's serialized index of the before file, if any (see ``Indexer.index``)."""
    if not symbol:
        symbol = find_changed_symbol(ix, before_file, after_file)
    bidx, aidx, bsrc, asrc = edited_symbol_sources(ix, before_file, after_file, symbol, before_index=before_index)
    before = ix.file_state(before_file, symbol)
    # fast path (aidx None): everything outside the symbol is unchanged, so the context is shared
    after = build_state(bidx, symbol, raw_source=asrc) if aidx is None else build_state(aidx, symbol)
    ops = edit_ops(parse_fragment(bsrc), parse_fragment(asrc), fragment_text(bsrc), fragment_text(asrc))
    return symbol, before, after, ops


def changed_after_lines(opcodes: list[tuple[str, int, int, int, int]], n_after: int) -> np.ndarray:
    """Per after-line flag: the line was replaced or inserted (``difflib`` opcodes over lines)."""
    changed = np.zeros(n_after, dtype=np.int64)
    for tag, _i1, _i2, j1, j2 in opcodes:
        if tag in ("replace", "insert"):
            changed[j1:j2] = 1
    return changed


def changed_line_mask(before_text: str, after_text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """1 for each after-token whose char span overlaps the content of a replaced/inserted after-line.

    A line's content excludes its trailing newline, so a whitespace token "\n    " that starts on the
    newline of an unchanged line and carries the indentation of a changed line is marked, and one that
    carries the indentation of an unchanged line is not. (Reference form over explicit offsets; the
    featurizer gets the same spans from :class:`~codelewm.data.line_encoder.LineEncoder`.)
    """
    a_lines, b_lines = before_text.split("\n"), after_text.split("\n")
    opcodes = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False).get_opcodes()
    first, last, _ = spans_from_offsets(after_text, offsets)
    return span_mask(first, last, changed_after_lines(opcodes, len(b_lines)))


def unified_diff(sm: difflib.SequenceMatcher, a: list[str], b: list[str], n: int = 3) -> str:
    """``difflib.unified_diff(a, b, "before", "after", lineterm="")`` joined by newlines, formatted from
    the caller's matcher so the diff and the mask share one line alignment (and one ``difflib`` pass).
    The matcher runs with ``autojunk=False``: identical to ``unified_diff`` below 200 lines (states are
    far shorter under ``max_state_tokens``), and no popularity heuristic above."""

    def rng(start: int, stop: int) -> str:
        length = stop - start
        if length == 1:
            return f"{start + 1}"
        return f"{start + 1 if length else start},{length}"

    out: list[str] = []
    for group in sm.get_grouped_opcodes(n):
        if not out:
            out += ["--- before", "+++ after"]
        out.append(f"@@ -{rng(group[0][1], group[-1][2])} +{rng(group[0][3], group[-1][4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in a[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                out += ["-" + line for line in a[i1:i2]]
            if tag in ("replace", "insert"):
                out += ["+" + line for line in b[j1:j2]]
    return "\n".join(out)


class Featurizer:
    """Turns (before file, after file, instruction[, symbol]) into EXAMPLE_SCHEMA feature fields."""

    def __init__(self, tokenizer: Tokenizer, cfg: ExtractConfig, indexer: Indexer | None = None):
        self.tok = tokenizer
        self.cfg = cfg
        self.indexer = indexer if indexer is not None else Indexer()  # module indexes + before-states
        self.pad_id: int = PAD_ID
        self.vocab_size: int = tokenizer.get_vocab_size()
        self.lines = LineEncoder(tokenizer)  # exact per-line cache: states share most of their lines
        # siblings share their before-state: cache its fitted encoding (or its failure's reason and
        # detail: a cached exception would keep its traceback's frames alive in a reference cycle)
        self._fit_cache: dict[CodeState, tuple[str, StateEncoding] | tuple[None, tuple[str, str]]] = {}

    def _fit_cached(self, state: CodeState) -> tuple[str, StateEncoding]:
        hit = self._fit_cache.get(state)
        if hit is None:
            try:
                hit = self._fit(state)
            except ExtractError as e:
                hit = (None, (e.reason, e.detail))
            if len(self._fit_cache) >= 4096:
                self._fit_cache.clear()
            self._fit_cache[state] = hit
        text, enc = hit
        if text is None:
            raise ExtractError(*enc)
        return text, enc

    @classmethod
    def from_file(cls, tokenizer_path: Path | str, cfg: ExtractConfig) -> Featurizer:
        return cls(load_tokenizer(tokenizer_path), cfg)

    def _fit(self, state: CodeState) -> tuple[str, StateEncoding]:
        """Render under the token budget: drop context lines, never the symbol.

        The context budget is picked in one step from the full render's per-line token counts (nearly
        additive: the pre-tokenizer splits at whitespace), then re-checked on the real encoding and
        lowered until it fits, so the result is exact.
        """
        limit = self.cfg.max_state_tokens
        k = min(self.cfg.max_context_lines, len(state.headers) + state.n_optional)
        text = state.render(k)
        enc = self.lines.encode(text)
        if len(enc) <= limit:
            return text, enc
        imps, sibs = state.context(k)
        ni, nh, ns = len(imps), len(state.headers), len(sibs)
        per_line = enc.line_tokens
        fixed = int(per_line[ni : ni + nh].sum() + per_line[ni + nh + ns :].sum())  # headers + symbol
        budget, j = limit - fixed, nh
        for c in per_line[ni + nh : ni + nh + ns].tolist() + per_line[:ni].tolist():  # render() priority
            if c > budget:
                break
            budget -= c
            j += 1
        while True:
            text = state.render(j)
            enc = self.lines.encode(text)
            if len(enc) <= limit:
                return text, enc
            if j <= len(state.headers):
                raise ExtractError("state_too_long", f"symbol + class headers are {len(enc)} > {limit} tokens")
            j -= 1

    def fit_state(self, state: CodeState) -> tuple[str, StateEncoding]:
        """Public form of the budget fitting: (state text, its encoding); raises ExtractError."""
        return self._fit_cached(state)

    def featurize_query(self, before_file: str, instruction: str, symbol: str) -> dict[str, Any]:
        """Before-side fields of a query without an after-state (scoring candidates later):
        symbol, before_state, before_ids, action_ids — identical to :meth:`featurize`'s for any
        candidate of the same before file."""
        if not instruction.strip():
            raise ExtractError("empty_instruction")
        text, enc = self._fit_cached(self.indexer.file_state(before_file, symbol))
        return {
            "symbol": symbol,
            "before_state": text,
            "before_ids": list(enc.ids),
            "action_ids": self.encode_action(instruction),
        }

    def encode_action(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids[: self.cfg.max_action_tokens]

    def featurize(self, before_file: str, after_file: str, instruction: str, symbol: str = "") -> dict[str, Any]:
        """EXAMPLE_SCHEMA feature fields (+ the resolved ``symbol``); raises :class:`ExtractError`."""
        if not instruction.strip():
            raise ExtractError("empty_instruction")
        symbol, before, after, ops = states_for(self.indexer, before_file, after_file, symbol)
        return self.featurize_states(symbol, before, after, ops, instruction)

    def featurize_states(
        self, symbol: str, before: CodeState, after: CodeState, ops: list[str], instruction: str
    ) -> dict[str, Any]:
        """Token budget, ids, mask and views from already-extracted states (see :func:`states_for`)."""
        if not instruction.strip():
            raise ExtractError("empty_instruction")
        b_text, b_enc = self._fit_cached(before)
        a_text, a_enc = self._fit(after)
        if b_text == a_text:
            raise ExtractError("no_state_change", "before and after states are identical after normalization")
        ops = ops or [COMMENT_ONLY_OP]
        b_lines, a_lines = b_text.split("\n"), a_text.split("\n")
        sm = difflib.SequenceMatcher(None, b_lines, a_lines, autojunk=False)
        return {
            "symbol": symbol,
            "before_state": b_text,
            "after_state": a_text,
            "edit_ops": ops,
            "diff": unified_diff(sm, b_lines, a_lines),
            "before_ids": b_enc.ids,
            "after_ids": a_enc.ids,
            "after_mask": a_enc.mask(changed_after_lines(sm.get_opcodes(), len(a_lines))),
            "action_ids": self.encode_action(instruction),
            "edit_op_ids": self.encode_action(" ; ".join(ops)),
        }
