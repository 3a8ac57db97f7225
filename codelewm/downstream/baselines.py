"""Non-model rerank baselines for the downstream benchmark, as scorers (energies: lower = better).

* ``random``: every candidate ties, so pass@1 is exactly the fraction of passing candidates.
* ``copy``: the candidate most similar to the buggy before-program (token-set Jaccard) wins. It tests
  whether "change as little as possible" already solves the benchmark.
* ``lexical``: the candidate whose changed lines (vs the before-program) share most tokens with the
  instruction wins. Fix instructions name concrete identifiers/values, so this is the shortcut a model
  must beat to show it does more than keyword matching.
* ``not_unchanged``: any changed candidate beats the unchanged program (changed ones tie): the floor
  for a scorer that has merely learned that an instruction asks for a change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

Scorer = Callable[[dict[str, Any]], Sequence[float]]  # problem -> energy per candidate (lower = better)

_CODE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|==|!=|<=|>=|//|\*\*|[^\sA-Za-z0-9_]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|==|!=|<=|>=|//|\*\*|[-+*/%<>]")


def code_tokens(text: str) -> frozenset[str]:
    return frozenset(_CODE_TOKEN.findall(text))


def word_tokens(text: str) -> frozenset[str]:
    """Identifiers (also split on underscores), numbers and operators, lowercased."""
    out = set()
    for tok in _WORD.findall(text):
        low = tok.lower()
        out.add(low)
        if "_" in low.strip("_"):
            out.update(p for p in low.split("_") if p)
    return frozenset(out)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def changed_lines(before: str, after: str) -> str:
    """Text of the lines removed or added going from ``before`` to ``after``."""
    out = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith(("+++", "---", "@@")):
            continue
        out.append(line[1:])
    return "\n".join(out)


def random_scorer(problem: dict[str, Any]) -> list[float]:
    return [0.0] * len(problem["candidates"])


def copy_scorer(problem: dict[str, Any]) -> list[float]:
    before = code_tokens(problem["before"])
    return [-jaccard(before, code_tokens(c["code"])) for c in problem["candidates"]]


def lexical_scorer(problem: dict[str, Any]) -> list[float]:
    instr = word_tokens(problem["instruction"])
    return [-jaccard(instr, word_tokens(changed_lines(problem["before"], c["code"]))) for c in problem["candidates"]]


def not_unchanged_scorer(problem: dict[str, Any]) -> list[float]:
    """Any candidate that changes the program beats the unchanged one; changed candidates tie."""
    return [1.0 if c["code"] == problem["before"] else 0.0 for c in problem["candidates"]]


BASELINES: dict[str, Scorer] = {
    "random": random_scorer,
    "copy": copy_scorer,
    "lexical": lexical_scorer,
    "not_unchanged": not_unchanged_scorer,
}
