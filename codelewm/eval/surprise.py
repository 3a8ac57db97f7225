"""Surprise: does the model find the true after-state less surprising than a semantic mutant of it?

For each held-out row a decoy is made by applying a real mutation operator (``operators.mutate``: an
AST-located source edit, never executed) to the primary symbol inside the true after-state. True and
decoy are then featurized by the *same* ``Featurizer`` call shape (state text as the file, same symbol),
so both sides see identical budget fitting and only the mutation differs. AUC = P(E_true < E_decoy),
ties counting one half, per (row, decoy) pair. Rows without an applicable operator are counted with a
reason, never silently dropped.
"""

from __future__ import annotations

import ast
import random
from collections import Counter
from typing import Any

import numpy as np

from codelewm.data.codestate import ExtractError
from codelewm.data.featurize import Featurizer
from codelewm.edits.operators import OPERATORS, mutate


def symbol_lines(state: str, symbol: str) -> tuple[int, int] | None:
    """0-based [start, end) line span of the primary symbol (the last, most nested def/class) in a state."""
    try:
        mod = ast.parse(state)
    except (SyntaxError, ValueError, RecursionError):
        return None
    if not mod.body:
        return None
    node: ast.AST = mod.body[-1]
    for _ in range(symbol.count(".")):  # the state nests the symbol under its enclosing class headers
        if not isinstance(node, ast.ClassDef) or not node.body:
            return None
        node = node.body[-1]
    if (
        not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        or node.name != symbol.rsplit(".", 1)[-1]
    ):
        return None
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return start - 1, int(node.end_lineno or node.lineno)


def make_decoy(state: str, symbol: str, rng: random.Random) -> tuple[str, str] | None:
    """(decoy state, operator) from the first applicable operator in an rng order; None if none applies."""
    span = symbol_lines(state, symbol)
    if span is None:
        return None
    lines = state.split("\n")
    seg = "\n".join(lines[span[0] : span[1]]) + "\n"
    ops = list(OPERATORS)
    rng.shuffle(ops)
    for op in ops:
        m = mutate(seg, op, rng)
        if m is None:
            continue
        decoy = "\n".join([*lines[: span[0]], m.source.rstrip("\n"), *lines[span[1] :]])
        if decoy != state:
            return decoy, op
    return None


def decoy_pairs(
    featurizer: Featurizer, rows: list[dict[str, Any]], seed: int
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], Counter[str], list[str]]:
    """Featurized (true, decoy) row pairs, drop reasons per row, and the decoy operator per pair."""
    rng = random.Random(seed)
    pairs, ops = [], []
    dropped: Counter[str] = Counter()
    for r in rows:
        made = make_decoy(r["after_state"], r["symbol"], rng)
        if made is None:
            dropped["no_applicable_operator"] += 1
            continue
        decoy, op = made
        try:
            t = featurizer.featurize(r["before_state"], r["after_state"], r["instruction"], r["symbol"])
            d = featurizer.featurize(r["before_state"], decoy, r["instruction"], r["symbol"])
        except ExtractError as e:
            dropped[f"featurize_{e.reason}"] += 1
            continue
        if d["after_ids"] == t["after_ids"]:  # e.g. the mutation was normalized away
            dropped["decoy_identical_after_featurization"] += 1
            continue
        pairs.append((t, d))
        ops.append(op)
    return pairs, dropped, ops


def pair_wins(true_e: np.ndarray, decoy_e: np.ndarray) -> np.ndarray:
    """Per-pair 1 if the true after-state has lower energy, 0.5 on a tie, else 0 (mean = AUC)."""
    t, d = np.asarray(true_e, dtype=np.float64), np.asarray(decoy_e, dtype=np.float64)
    return (t < d).astype(np.float64) + 0.5 * (t == d)
