"""Scorer library: energies of candidate after-files (or unified diffs) for a before-file + instruction.

``Scorer.load(model_dir)`` needs a trained checkpoint (``ModelLoadError`` otherwise: there is no
fallback scorer). Candidates are featurized by the same ``Featurizer`` as the training data, built from
the model dir's ``tokenizer.json`` and extract config. All candidates of one query are featurized around
ONE primary symbol (given, or the one most candidates change), so they share one before-state and the
ranking compares like with like. A candidate that leaves that symbol unchanged is a valid "no-op"
candidate whose after-state is the before-state. Energy = ||predict(z_before, action) - E(after)||^2.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from codelewm.data.codestate import ExtractError, Indexer, find_changed_symbol
from codelewm.data.featurize import Featurizer
from codelewm.data.tokenizer import TokenizerError
from codelewm.edits.patch import PatchError, apply_unified_diff
from codelewm.model.batch import ACTION_COLUMN
from codelewm.model.infer import LoadedModel, ModelLoadError, encode_after, energy, load_model, predict_after

__all__ = ["CandidateError", "InputError", "ModelLoadError", "Scorer", "query_row", "resolve_symbol"]


class InputError(ValueError):
    """The before-file, instruction or symbol cannot be used (CLI exit code 2)."""


class CandidateError(ValueError):
    """A candidate (file or diff) is invalid; names the candidate (CLI exit code 4)."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"candidate {name}: {reason}")
        self.name = name
        self.reason = reason


def _names(n: int, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [f"#{i}" for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} names for {n} candidates")
    return list(names)


def resolve_symbol(ix: Indexer, before: str, after_files: Sequence[str], symbol: str = "") -> str:
    """The primary symbol for a query: ``symbol`` if given (checked), else the one most candidates change."""
    try:
        idx = ix.index(before)
    except ExtractError as e:
        raise InputError(f"before file cannot be indexed ({e})") from e
    if symbol:
        if symbol not in idx.symbols:
            raise InputError(f"symbol {symbol!r} not in before file; known: {', '.join(sorted(idx.symbols))[:300]}")
        return symbol
    votes: Counter[str] = Counter()
    for after in after_files:
        try:
            votes[find_changed_symbol(ix, before, after)] += 1
        except ExtractError:
            continue  # no-op or unparsable candidates do not vote; unparsable ones fail at featurization
    if votes:
        return votes.most_common(1)[0][0]  # ties: first seen (Counter keeps insertion order)
    if len(idx.symbols) == 1:
        return next(iter(idx.symbols))
    raise InputError("cannot tell which function/class the candidates edit; pass a symbol explicitly")


def query_row(featurizer: Featurizer, before: str, instruction: str, symbol: str) -> dict[str, Any]:
    """Before-side feature fields of a query (no after-state): before_state/ids and the action ids."""
    if not instruction.strip():
        raise InputError("empty instruction")
    try:
        # same budget fitting as Featurizer.featurize, so before_ids match a featurized candidate's
        row = featurizer.featurize_query(before, instruction, symbol)
    except ExtractError as e:
        raise InputError(f"before file: {e}") from e
    # no after-state: the abstract view is empty (abstract models need a candidate to score)
    return {**row, "edit_op_ids": []}


@dataclass
class Scorer:
    lm: LoadedModel
    featurizer: Featurizer
    batch_size: int = 256

    @classmethod
    def load(cls, model_dir: Path | str, device: str | torch.device = "cpu", batch_size: int = 256) -> Scorer:
        """Load a trained model dir; raises ModelLoadError when there is no usable checkpoint."""
        lm = load_model(Path(model_dir), device=device)
        try:
            featurizer = Featurizer.from_file(lm.tokenizer_path, lm.featurizer_cfg)
        except TokenizerError as e:  # a model dir whose tokenizer is broken is an unusable model
            raise ModelLoadError(f"{model_dir}: {e}") from e
        return cls(lm=lm, featurizer=featurizer, batch_size=batch_size)

    @property
    def action(self) -> str:
        return self.lm.action

    def candidate_rows(
        self,
        before: str,
        instruction: str,
        after_files: Sequence[str],
        names: Sequence[str] | None = None,
        symbol: str = "",
    ) -> list[dict[str, Any]]:
        """EXAMPLE_SCHEMA feature rows, one per candidate, all around one resolved symbol."""
        names = _names(len(after_files), names)
        symbol = resolve_symbol(self.featurizer.indexer, before, after_files, symbol)
        q = query_row(self.featurizer, before, instruction, symbol)
        rows = []
        for name, after in zip(names, after_files):
            try:
                rows.append(self.featurizer.featurize(before, after, instruction, symbol))
            except ExtractError as e:
                if e.reason != "no_state_change":
                    raise CandidateError(name, f"{e.reason}: {e.detail}".rstrip(": ")) from e
                # valid candidate that leaves the symbol as it was: after-state = before-state
                n = len(q["before_ids"])
                rows.append(
                    {
                        **q,
                        "after_state": q["before_state"],
                        "after_ids": q["before_ids"],
                        "after_mask": [0] * n,
                        "edit_ops": [],
                        "diff": "",
                    }
                )
        return rows

    def score_rows(self, rows: Sequence[dict[str, Any]]) -> list[float]:
        """Row-wise energies ||predict(row) - encode_after(row)||^2 (predictions deduplicated)."""
        if not rows:
            return []
        col = ACTION_COLUMN[self.action]
        key_of = [(tuple(r["before_ids"]), tuple(r[col]) if col else ()) for r in rows]
        uniq: dict[tuple, int] = {}
        reps: dict[tuple, dict[str, Any]] = {}
        for k, r in zip(key_of, rows):  # text/none models: one prediction serves every candidate
            uniq.setdefault(k, len(uniq))
            reps.setdefault(k, r)
        pred = predict_after(self.lm, list(reps.values()), batch_size=self.batch_size)
        # identical candidates (common in sampled patch sets) are encoded once
        akey = [(tuple(r["after_ids"]), tuple(r["after_mask"])) for r in rows]
        apos: dict[tuple, int] = {}
        arep: list[dict[str, Any]] = []
        for k, r in zip(akey, rows):
            if k not in apos:
                apos[k] = len(arep)
                arep.append(r)
        cand = encode_after(self.lm, arep, batch_size=self.batch_size)[torch.tensor([apos[k] for k in akey])]
        which = torch.tensor([uniq[k] for k in key_of])
        out = torch.empty(len(rows), dtype=torch.float64)
        for g in range(len(uniq)):
            sel = (which == g).nonzero().flatten()
            # exact form: candidates of one query are close (see objective.energy)
            out[sel] = energy(pred[g : g + 1], cand[sel], exact=True)[0]
        return [float(x) for x in out]

    def score(
        self,
        before: str,
        instruction: str,
        candidates: Sequence[str],
        *,
        diffs: bool = False,
        names: Sequence[str] | None = None,
        symbol: str = "",
    ) -> list[float]:
        """Energies (lower = better) of candidates given as after-files, or as unified diffs if ``diffs``."""
        names = _names(len(candidates), names)
        if not candidates:
            raise InputError("no candidates")
        files = [apply_candidate_diff(before, d, n) for d, n in zip(candidates, names)] if diffs else list(candidates)
        return self.score_rows(self.candidate_rows(before, instruction, files, names, symbol))

    def score_problem(self, problem: dict[str, Any], instruction: str | None = None) -> list[float]:
        """Energies of a downstream/JSONL problem's candidates ({"code": ...} dicts or strings).

        ``instruction`` overrides the problem's own (the shuffled-action control); the problem's
        ``entry_point`` (or ``symbol``) pins the primary symbol.
        """
        cands = [c["code"] if isinstance(c, dict) else c for c in problem["candidates"]]
        pid = str(problem.get("task_id", problem.get("id", "?")))
        symbol = str(problem.get("entry_point") or problem.get("symbol") or "")
        names = [f"{pid}#{i}" for i in range(len(cands))]
        return self.score(problem["before"], instruction or problem["instruction"], cands, names=names, symbol=symbol)

    def rerank(self, before: str, instruction: str, candidates: Sequence[str], **kw: Any) -> list[dict[str, Any]]:
        """Candidates sorted by energy (stable on ties): [{"rank", "index", "name", "energy"}]."""
        names = _names(len(candidates), kw.pop("names", None))
        e = self.score(before, instruction, candidates, names=names, **kw)
        order = sorted(range(len(e)), key=lambda i: (e[i], i))
        return [{"rank": r + 1, "index": i, "name": names[i], "energy": e[i]} for r, i in enumerate(order)]


def apply_candidate_diff(before: str, diff: str, name: str) -> str:
    """Apply one candidate diff strictly; a diff that does not apply is a CandidateError naming it."""
    try:
        return apply_unified_diff(before, diff)
    except PatchError as e:
        raise CandidateError(name, f"diff does not apply: {e}") from e
