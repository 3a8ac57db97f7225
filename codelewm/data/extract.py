"""Extract stage: transitions -> EXAMPLE_SCHEMA rows (CodeStates, action views, token ids, mask), with
the BPE tokenizer trained on the train split. Featurization itself is :mod:`codelewm.data.featurize`.

Two streaming passes: pass 1 extracts every row's CodeStates once (``ast`` work), spills them to a
temporary Parquet file together with the row's small columns and feeds the train split's distinct
texts to the BPE trainer (:func:`tokenizer_texts`; the tokenizer never sees val/test); pass 2
tokenizes from the spill alone and writes examples; dropped rows are quarantined at the end with their
full input row, read back from only the row groups that hold them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from codelewm.config import ExtractConfig
from codelewm.data.codestate import CodeState, ExtractError, Indexer
from codelewm.data.featurize import Featurizer, states_for
from codelewm.data.tokenizer import train_tokenizer
from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION, SPLITS
from codelewm.rowio import RecordWriter, iter_records, paused_gc, read_rows
from codelewm.stageio import Stage

STAGE = "extract"

__all__ = ["run_extract", "tokenizer_texts"]


_STATE_FIELDS = ("imports", "headers", "siblings", "symbol")
# input columns pass 2 copies into the example (read once in pass 1 and carried by the spill)
_KEEP_COLS = (
    "id",
    "split",
    "source",
    "repo",
    "path",
    "license",
    "op",
    "family",
    "instruction_kind",
    "before_key",
    "instruction",
)
_SPILL_SCHEMA = pa.schema(
    [(c, pa.string()) for c in _KEEP_COLS]
    + [("reason", pa.string()), ("detail", pa.string()), ("symbol", pa.string()), ("ops", pa.list_(pa.string()))]
    + [
        (f"{side}_{f}", pa.large_string() if f == "symbol" else pa.list_(pa.string()))
        for side in "ba"
        for f in _STATE_FIELDS
    ]
)


def _extract_pass(
    ix: Indexer, input_path: Path, spill: Path, cfg: ExtractConfig, counts: Counter[str]
) -> Iterator[str]:
    """Pass 1: extract every row's CodeStates once, spill them with the row's small columns to ``spill``
    (so pass 2 neither redoes the ``ast`` work nor re-reads the files), and yield the tokenizer corpus
    (:func:`tokenizer_texts`). Failures are spilled with their reason and quarantined in pass 2."""
    seen_before: set[str] = set()
    cols = [*_KEEP_COLS, "before_file", "before_index", "after_file", "symbol"]
    with RecordWriter(spill, _SPILL_SCHEMA) as writer:
        for row in iter_records(input_path, columns=cols, shared=["before_file", "before_index"]):
            rec: dict[str, Any] = {k: row[k] for k in _KEEP_COLS}
            rec.update(reason="", detail="", symbol="", ops=[])
            rec.update({f"{side}_{f}": [] if f != "symbol" else "" for side in "ba" for f in _STATE_FIELDS})
            try:
                sym, before, after, ops = states_for(
                    ix, row["before_file"], row["after_file"], row["symbol"], row["before_index"]
                )
            except ExtractError as e:
                writer.write({**rec, "reason": e.reason, "detail": e.detail})
                continue
            rec.update(symbol=sym, ops=ops)
            for side, st in (("b", before), ("a", after)):
                rec.update({f"{side}_{f}": getattr(st, f) for f in _STATE_FIELDS})
            writer.write(rec)
            if row["split"] != "train":
                continue
            counts["rows"] += 1
            first = row["before_key"] not in seen_before
            seen_before.add(row["before_key"])
            yield from tokenizer_texts(before, after, row["instruction"], ops, cfg.max_context_lines, first)


def tokenizer_texts(
    before: CodeState, after: CodeState, instruction: str, ops: list[str], max_context_lines: int, first: bool
) -> Iterator[str]:
    """One train row's share of the BPE corpus: its before-state if ``first`` (siblings share it),
    the after-state's lines that are not in the before-state, the instruction and the op string.

    The corpus is the train split's distinct content. An after-state repeats its before-state except
    for the edited lines, so feeding it whole would count the unchanged lines once more per sibling
    (1 + 2..4 times, as many as operators applied: an artifact of the source, not of the code) and
    cost most of the training time (word counting is linear in the text). Held-out states compress
    within 1% of the whole-state corpus (measured on the default data; see the issue-3 note)."""
    b_text = before.render(max_context_lines)
    if first:
        yield b_text
    b_lines = set(b_text.split("\n"))
    new = "\n".join(line for line in after.render(max_context_lines).split("\n") if line not in b_lines)
    if new:
        yield new
    yield instruction
    yield " ; ".join(ops)


def _unspill(rec: dict[str, Any], side: str) -> CodeState:
    return CodeState(*(tuple(rec[f"{side}_{f}"]) if f != "symbol" else rec[f"{side}_{f}"] for f in _STATE_FIELDS))


@paused_gc()
def run_extract(cfg: ExtractConfig, input_path: Path, out_dir: Path) -> dict[str, Any]:
    """Train the tokenizer on the train split, then featurize every row (or quarantine it)."""
    input_path = Path(input_path)
    with Stage(STAGE, Path(out_dir), params={"extract": cfg}, parents=[input_path]) as st:
        t0 = time.perf_counter()
        counts: Counter[str] = Counter()
        ix = Indexer()
        spill = st.scratch("states.spill.parquet")
        tok = train_tokenizer(_extract_pass(ix, input_path, spill, cfg, counts), cfg, st.output("tokenizer.json"))
        if counts["rows"] == 0:
            raise ValueError(f"{input_path}: no usable train-split rows to train the tokenizer on")
        t1 = time.perf_counter()
        feat = Featurizer(tok, cfg, ix)
        per_split, n_tokens, n_masked = _featurize_pass(st, feat, input_path, spill)
        st.timings.update(
            extract_and_tokenizer_seconds=round(t1 - t0, 3), featurize_seconds=round(time.perf_counter() - t1, 3)
        )
        st.metrics.update(
            per_split={s: per_split[s] for s in SPLITS},
            tokenizer_train_rows=counts["rows"],
            vocab_size=feat.vocab_size,
            after_mask_fraction=round(n_masked / n_tokens, 4) if n_tokens else 0.0,
            module_indexes=ix.counts_dict(),
        )
    return st.result


def _featurize_pass(st: Stage, feat: Featurizer, input_path: Path, spill: Path) -> tuple[Counter[str], int, int]:
    """Pass 2: featurize the spilled states into examples; quarantine failures with their full input
    row. Returns (kept rows per split, after tokens, masked after tokens)."""
    per_split: Counter[str] = Counter()
    n_tokens = n_masked = 0
    # (input row index, reason, detail) of each dropped row; their full payloads are read back at
    # the end from just the row groups that hold them (small tuples, never the files themselves)
    dropped: list[tuple[int, str, str]] = []
    with st.quarantine() as quarantine, RecordWriter(st.output("examples.parquet"), EXAMPLE_SCHEMA) as writer:
        for i, rec in enumerate(iter_records(spill)):
            row = {k: rec[k] for k in _KEEP_COLS}
            reason, detail = rec["reason"], rec["detail"]
            if row["split"] not in SPLITS:
                reason, detail = "unassigned_split", f"split={row['split']!r}"
            f = None
            if not reason:
                try:
                    before, after = _unspill(rec, "b"), _unspill(rec, "a")
                    f = feat.featurize_states(rec["symbol"], before, after, rec["ops"], row["instruction"])
                except ExtractError as e:
                    reason, detail = e.reason, e.detail
            if f is None:
                dropped.append((i, reason, detail))
                continue
            writer.write({"schema_version": SCHEMA_VERSION, **row, **f})
            st.funnel.keep()
            per_split[row["split"]] += 1
            n_tokens += len(f["after_ids"])
            n_masked += sum(f["after_mask"])
        payloads = read_rows(input_path, [d[0] for d in dropped])
        for (_, reason, detail), (_, full) in zip(dropped, payloads, strict=True):
            quarantine.add(full["id"], reason, detail, full["source"], json.dumps(full, ensure_ascii=False))
    return per_split, n_tokens, n_masked
