"""The shuffled-action control: same before-state, another edit's action.

The earlier attempt's shuffled control also changed the before-state, so it measured nothing about the
action. Here only ``action_ids``/``edit_op_ids`` (and the instruction text, for inspection) are swapped;
``before_ids`` stay byte-identical. The donor is preferably a *sibling* (same ``before_key``, different
instruction): a plausible, different edit of the same code, so the control asks exactly "does the model
use the action it is given?". Rows without such a sibling take a seeded random donor from another
before-state; the within-sibling fraction is reported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ACTION_FIELDS = ("action_ids", "edit_op_ids", "instruction")


def _action_key(row: dict[str, Any]) -> tuple:
    return (row["instruction"], tuple(row["action_ids"]), tuple(row["edit_op_ids"]))


def shuffle_actions(rows: list[dict[str, Any]], seed: int) -> tuple[list[dict[str, Any]], float]:
    """Copies of ``rows`` with each action swapped for a different row's; returns (rows, within-sibling fraction)."""
    if len(rows) < 2:
        raise ValueError("need at least 2 rows to shuffle actions")
    rng = np.random.default_rng(seed)
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_key[r["before_key"]].append(i)
    keys = [_action_key(r) for r in rows]
    out: list[dict[str, Any]] = []
    within = 0
    for i, r in enumerate(rows):
        sibs = [j for j in by_key[r["before_key"]] if j != i and keys[j] != keys[i]]
        if sibs:
            donor = sibs[int(rng.integers(len(sibs)))]
            within += 1
        else:
            donor = i
            while donor == i or keys[donor] == keys[i]:
                donor = int(rng.integers(len(rows)))
                if all(k == keys[i] for k in keys):
                    raise ValueError("every row has the same action: nothing to shuffle")
        new = dict(r)
        for f in ACTION_FIELDS:
            new[f] = rows[donor][f]
        out.append(new)
    return out, within / len(rows)


class ShuffledInstructionScorer:
    """Downstream shuffled-action control: score each problem's candidates under ANOTHER problem's
    instruction (a seeded derangement over task ids), with the problem's own before-file unchanged."""

    def __init__(
        self, score_problem: Callable[[dict[str, Any], str | None], list[float]], problems_path: Path, seed: int
    ):
        self.score_problem = score_problem
        probs = [json.loads(ln) for ln in Path(problems_path).read_text(encoding="utf-8").splitlines() if ln.strip()]
        ids = sorted({str(p["task_id"]) for p in probs})
        self.problems = {str(p["task_id"]): p for p in probs}
        if len(ids) < 2:
            raise ValueError("shuffled-action control needs at least 2 problems")
        perm = list(np.random.default_rng(seed).permutation(len(ids)))
        # a cyclic shift of a random order is a derangement: nobody keeps their own instruction
        order = [ids[i] for i in perm]
        self.donor = {order[k]: order[(k + 1) % len(order)] for k in range(len(order))}

    def __call__(self, problem: dict[str, Any]) -> list[float]:
        """The donor's instruction in the same benchmark slice as ``problem`` (``problem["slice"]``)."""
        donor = self.problems[self.donor[str(problem["task_id"])]]
        slice_ = problem.get("slice", "literal")
        instr = (donor.get("instructions") or {}).get(slice_) or donor["instruction"]
        return self.score_problem(problem, instr)
