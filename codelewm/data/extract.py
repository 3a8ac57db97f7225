"""Extract stage: transitions -> EXAMPLE_SCHEMA rows (CodeStates, action views, token ids, mask).

:class:`Featurizer` is the single featurization path: ``run_extract`` uses it for training data and the
scorer/downstream code uses it for candidates, so both are tokenized identically.

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

Two streaming passes: pass 1 extracts every row's CodeStates once (``ast`` work), spills them to a
temporary Parquet file together with the row's small columns and feeds the train split's distinct
texts to the BPE trainer (:func:`tokenizer_texts`; the tokenizer never sees val/test); pass 2
tokenizes from the spill alone and writes examples; dropped rows are quarantined at the end with their
full input row, read back from only the row groups that hold them.
"""

from __future__ import annotations

import difflib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from tokenizers import Tokenizer

from codelewm.config import ExtractConfig
from codelewm.data.codestate import (
    INDEX_COUNTS,
    CodeState,
    ExtractError,
    build_state,
    edited_symbol_sources,
    file_state,
    find_changed_symbol,
    fragment_text,
    index_counts_since,
    parse_fragment,
)
from codelewm.data.editops import edit_ops
from codelewm.data.line_encoder import LineEncoder, StateEncoding, span_mask, spans_from_offsets
from codelewm.data.tokenizer import PAD_ID, load_tokenizer, train_tokenizer
from codelewm.records import EXAMPLE_SCHEMA, SCHEMA_VERSION, SPLITS
from codelewm.stageio import (
    Funnel,
    QuarantineWriter,
    RecordWriter,
    iter_records,
    paused_gc,
    read_rows,
    write_manifest,
    write_metrics,
)

STAGE = "extract"
COMMENT_ONLY_OP = "edit comment"  # text changed but the AST did not (comments, docstring whitespace)

__all__ = ["ExtractError", "Featurizer", "run_extract", "changed_line_mask", "states_for", "tokenizer_texts"]


def states_for(
    before_file: str, after_file: str, symbol: str = "", before_index: str = ""
) -> tuple[str, CodeState, CodeState, list[str]]:
    """(resolved symbol, before CodeState, after CodeState, edit ops) for one transition;
    ``before_index``: the row's serialized index of the before file, if any (see ``index_module``)."""
    if not symbol:
        symbol = find_changed_symbol(before_file, after_file)
    bidx, aidx, bsrc, asrc = edited_symbol_sources(before_file, after_file, symbol, before_index=before_index)
    before = file_state(before_file, symbol)
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

    def __init__(self, tokenizer: Tokenizer, cfg: ExtractConfig):
        self.tok = tokenizer
        self.cfg = cfg
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
        text, enc = self._fit_cached(file_state(before_file, symbol))
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
        symbol, before, after, ops = states_for(before_file, after_file, symbol)
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


def _extract_pass(input_path: Path, spill: Path, cfg: ExtractConfig, counts: Counter[str]) -> Iterator[str]:
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
                    row["before_file"], row["after_file"], row["symbol"], row["before_index"]
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
    input_path, out_dir = Path(input_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spill = out_dir / ".states.spill.parquet"  # temporary, removed below; not a DVC output
    t0 = time.perf_counter()
    counts: Counter[str] = Counter()
    indexes = Counter(INDEX_COUNTS)
    try:
        tok = train_tokenizer(_extract_pass(input_path, spill, cfg, counts), cfg, out_dir / "tokenizer.json")
        if counts["rows"] == 0:
            raise ValueError(f"{input_path}: no usable train-split rows to train the tokenizer on")
        t1 = time.perf_counter()
        feat = Featurizer(tok, cfg)
        funnel = Funnel(STAGE)
        per_split: Counter[str] = Counter()
        n_tokens = n_masked = 0
        # (input row index, reason, detail) of each dropped row; their full payloads are read back at
        # the end from just the row groups that hold them (small tuples, never the files themselves)
        dropped: list[tuple[int, str, str]] = []
        with (
            QuarantineWriter(out_dir / "quarantine.parquet", STAGE, funnel) as quarantine,
            RecordWriter(out_dir / "examples.parquet", EXAMPLE_SCHEMA) as writer,
        ):
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
                funnel.keep()
                per_split[row["split"]] += 1
                n_tokens += len(f["after_ids"])
                n_masked += sum(f["after_mask"])
            payloads = read_rows(input_path, [d[0] for d in dropped])
            for (_, reason, detail), (_, full) in zip(dropped, payloads, strict=True):
                quarantine.add(full["id"], reason, detail, full["source"], json.dumps(full, ensure_ascii=False))
    finally:
        spill.unlink(missing_ok=True)
    t2 = time.perf_counter()
    metrics = write_metrics(
        out_dir / "metrics.json",
        funnel,
        per_split={s: per_split[s] for s in SPLITS},
        tokenizer_train_rows=counts["rows"],
        vocab_size=feat.vocab_size,
        after_mask_fraction=round(n_masked / n_tokens, 4) if n_tokens else 0.0,
        module_indexes=index_counts_since(indexes),
        extract_and_tokenizer_seconds=round(t1 - t0, 3),
        featurize_seconds=round(t2 - t1, 3),
    )
    outputs = [out_dir / "examples.parquet", out_dir / "quarantine.parquet", out_dir / "tokenizer.json"]
    write_manifest(out_dir, STAGE, outputs, params=cfg, parents=_parent_manifest(input_path))
    return metrics


def _parent_manifest(input_path: Path) -> list[Path]:
    m = input_path.parent / "manifest.json"
    return [m] if m.exists() else []
