"""Non-learned retrieval baselines over candidate pools: copy, lexical and random.

All return *energies* (lower = better) so they rank exactly like the model.

- copy: the candidate whose token set is most like the query's before-state (token Jaccard). This is
  the baseline that won the earlier attempt's global-pool benchmark: after ~= before.
- lexical: overlap of the instruction's tokens with the tokens of the lines the candidate changes
  relative to the query's before-state (a line-level diff: lines in one text but not the other, which
  is a unified diff's -/+ lines up to moved lines, and cheap enough for 1000 x 1000 pools).
- random: seeded uniform energies; its analytic expectation is in ``metrics.expected_random``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# identifiers, numbers, multi-char operators, then any other single non-space character
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|==|!=|<=|>=|\*\*|//|->|\+=|-=|[^\sA-Za-z0-9_]")
# instruction quoting marks are not code; strip them so "`x`" matches x
_QUOTES = "`'\""


def code_tokens(text: str) -> frozenset[str]:
    """Set of code tokens of a text (identifiers, numbers, operators, punctuation)."""
    return frozenset(_TOKEN.findall(text))


def instruction_tokens(text: str) -> frozenset[str]:
    """Code-like tokens of an instruction: same tokenizer, quote marks and sentence punctuation removed."""
    return frozenset(t for t in _TOKEN.findall(text) if t not in _QUOTES and t not in {".", ",", ":", ";"})


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def copy_energies(before_states: Sequence[str], cand_states: Sequence[str]) -> np.ndarray:
    """[Q, C] energies = -Jaccard(tokens(before_q), tokens(candidate_c))."""
    bt = [code_tokens(s) for s in before_states]
    ct = [code_tokens(s) for s in cand_states]
    return -np.array([[jaccard(b, c) for c in ct] for b in bt], dtype=np.float64).reshape(len(bt), len(ct))


class LineDiffTokens:
    """Caches line sets and per-line tokens so pairwise changed-line tokens are cheap."""

    def __init__(self) -> None:
        self._line_tokens: dict[str, frozenset[str]] = {}

    def lines(self, text: str) -> frozenset[str]:
        # strip: re-indentation alone is not an edit the instruction talks about
        return frozenset(ln.strip() for ln in text.splitlines() if ln.strip())

    def changed_tokens(self, before_lines: frozenset[str], after_lines: frozenset[str]) -> frozenset[str]:
        out: set[str] = set()
        for ln in before_lines ^ after_lines:
            toks = self._line_tokens.get(ln)
            if toks is None:
                toks = self._line_tokens[ln] = code_tokens(ln)
            out |= toks
        return frozenset(out)


def lexical_energies(
    before_states: Sequence[str], instructions: Sequence[str], cand_states: Sequence[str]
) -> np.ndarray:
    """[Q, C] energies = -Jaccard(instruction tokens_q, tokens of lines changed from before_q to candidate_c)."""
    if len(before_states) != len(instructions):
        raise ValueError("one instruction per before-state")
    ld = LineDiffTokens()
    bl = [ld.lines(s) for s in before_states]
    cl = [ld.lines(s) for s in cand_states]
    it = [instruction_tokens(s) for s in instructions]
    out = np.empty((len(bl), len(cl)), dtype=np.float64)
    for q, (b, ins) in enumerate(zip(bl, it)):
        for c, cand in enumerate(cl):
            d = ld.changed_tokens(b, cand)
            # an unchanged candidate has no diff: zero overlap, not Jaccard(empty, empty) = 1
            out[q, c] = -(len(ins & d) / len(ins | d)) if d else 0.0
    return out


def random_energies(n_queries: int, n_cands: int, rng: np.random.Generator) -> np.ndarray:
    """[Q, C] seeded uniform energies."""
    return rng.random((n_queries, n_cands))
