"""Ingest stage: stream the configured source into ``transitions.parquet`` + ``quarantine.parquet``.

Every event a source yields is one funnel unit: a transition is kept (after schema and sanity checks)
or quarantined with a reason, and a source-level quarantine event is written as is. Memory is bounded
by the writers' row groups plus one counter per before-state (for the sibling histogram).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from codelewm.config import IngestConfig
from codelewm.data import quality
from codelewm.data.sources.base import Quarantined, Source, payload_of
from codelewm.records import FAMILIES, TRANSITION_SCHEMA
from codelewm.rowio import RecordWriter, paused_gc
from codelewm.stageio import Stage

STAGE = "ingest"
_STR_FIELDS = tuple(f.name for f in TRANSITION_SCHEMA)
_NONEMPTY = ("id", "source", "repo", "path", "instruction", "op", "family", "instruction_kind", "before_key")


def make_source(cfg: IngestConfig) -> Source:
    """The source named by ``cfg.source`` (imports are lazy: git/hf need nothing for synthetic runs)."""
    if cfg.source == "synthetic":
        from codelewm.data.sources.synthetic import SyntheticSource

        return SyntheticSource(cfg.synthetic, cfg.quality, cfg.seed)
    if cfg.source == "git":
        from codelewm.data.sources.git import GitSource

        return GitSource(cfg.git, cfg.quality)
    from codelewm.data.sources.hf import HFSource

    return HFSource(cfg.hf, cfg.quality)


def check_transition(row: dict[str, Any]) -> str | None:
    """Schema and sanity check of one transition; a reason code or None."""
    for name in _STR_FIELDS:
        if not isinstance(row.get(name), str):
            return "schema_error"
    if any(not row[name] for name in _NONEMPTY) or row["family"] not in FAMILIES:
        return "schema_error"
    return quality.identical(row["before_file"], row["after_file"]) or quality.whitespace_only(
        row["before_file"], row["after_file"]
    )


@paused_gc()
def run_ingest(cfg: IngestConfig, out_dir: Path) -> dict[str, Any]:
    """Run the ingest stage into ``out_dir``; returns the metrics written to ``metrics.json``."""
    with Stage(STAGE, Path(out_dir), params={"ingest": cfg}) as st:
        _ingest(st, make_source(cfg))
    return st.result


def _ingest(st: Stage, source: Source) -> None:
    ops: Counter[str] = Counter()
    per_state: Counter[str] = Counter()
    with RecordWriter(st.output("transitions.parquet"), TRANSITION_SCHEMA) as rw, st.quarantine() as qw:
        for ev in source:
            if isinstance(ev, Quarantined):
                qw.add(ev.id, ev.reason, ev.detail, source.name, ev.payload)
                continue
            reason = check_transition(ev)
            if reason:
                qw.add(str(ev.get("id", "")), reason, f"transition failed check {reason}", source.name, payload_of(ev))
                continue
            rw.write({name: ev[name] for name in _STR_FIELDS})
            st.funnel.keep()
            ops[ev["op"]] += 1
            per_state[ev["before_key"]] += 1
    hist = Counter(per_state.values())
    st.metrics.update(
        source=source.name,
        ops=dict(sorted(ops.items())),
        n_before_states=len(per_state),
        siblings_hist={str(k): v for k, v in sorted(hist.items())},
        source_stats=source.stats,
    )
