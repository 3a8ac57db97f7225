"""License-gate stage: keep a transition only if its licence expression is satisfied by the allowlist.

Expressions are normalized with ``license_expression``'s SPDX licensing (case, deprecated ids and
aliases such as ``GPL-2.0+``), plus a few free-text names common in dataset metadata. Evaluation
follows SPDX semantics: ``A OR B`` passes if either branch is allowed, ``A AND B`` only if both are,
``A WITH exception`` if ``A`` is (exceptions only grant extra permissions). Empty/unknown licences
are quarantined (``unknown_license``), parse errors as ``invalid_license_expression``, disallowed
ones as ``denied_license:<id>``; kept rows carry the normalized SPDX string.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

from codelewm.config import LicenseConfig
from codelewm.data.sources.base import payload_of
from codelewm.records import TRANSITION_SCHEMA
from codelewm.rowio import RecordWriter
from codelewm.stageio import Stage

STAGE = "license-gate"

# free-text names seen in repository metadata that are not SPDX keys but are unambiguous
ALIASES = {
    "apache 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache2": "Apache-2.0",
    "mit license": "MIT",
    "expat": "MIT",
    "bsd-3": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "psf": "PSF-2.0",
    "python software foundation license": "PSF-2.0",
    "public domain": "",  # not a licence grant we can verify: unknown
}


@lru_cache(maxsize=1)
def licensing() -> Licensing:
    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def normalize(expr: str) -> tuple[str | None, str | None]:
    """(normalized SPDX expression, None) or (None, reason)."""
    text = (expr or "").strip()
    text = ALIASES.get(text.lower(), text)
    if not text:
        return None, "unknown_license"
    info = licensing().validate(text)
    if info.invalid_symbols and any(s for s in info.invalid_symbols):
        return None, "unknown_license"
    if info.errors or not info.normalized_expression:
        return None, "invalid_license_expression"
    return str(info.normalized_expression), None


def _denied(node: Any, allow: frozenset[str]) -> list[str]:
    """Licence ids that make ``node`` unsatisfied by ``allow`` (empty list = satisfied)."""
    if isinstance(node, LicenseWithExceptionSymbol):
        return _denied(node.license_symbol, allow)
    if isinstance(node, LicenseSymbol):
        return [] if node.key in allow else [node.key]
    if isinstance(node, OR):
        branches = [_denied(a, allow) for a in node.args]
        return [] if any(not b for b in branches) else [k for b in branches for k in b]
    if isinstance(node, AND):
        return [k for a in node.args for k in _denied(a, allow)]
    raise ExpressionError(f"unsupported licence expression node {type(node).__name__}")


@lru_cache(maxsize=4096)
def evaluate(expr: str, allow: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(normalized expression, None) if allowed by ``allow``, else (None, reason code)."""
    norm, reason = normalize(expr)
    if norm is None:
        return None, reason
    allowed = frozenset(normalize(a)[0] or a for a in allow)
    try:
        denied = _denied(licensing().parse(norm), allowed)
    except ExpressionError:
        return None, "invalid_license_expression"
    return (norm, None) if not denied else (None, f"denied_license:{denied[0]}")


def run_license_gate(cfg: LicenseConfig, input_path: Path, out_dir: Path) -> dict[str, Any]:
    """Filter ``input_path`` transitions into ``out_dir`` (transitions, quarantine, metrics, manifest)."""
    allow = tuple(cfg.allow)
    for a in allow:  # a typo in the allowlist must fail loudly, not silently deny everything
        if normalize(a)[0] is None:
            raise ValueError(f"license.allow entry {a!r} is not a known SPDX licence id")
    with Stage(STAGE, Path(out_dir), params={"license": cfg}, parents=[input_path]) as st:
        kept_by = _gate(st, Path(input_path), allow)
        st.metrics["kept_by_license"] = dict(sorted(kept_by.items()))
    return st.result


def _gate(st: Stage, input_path: Path, allow: tuple[str, ...]) -> dict[str, int]:
    """Copy allowed rows, quarantine the rest; returns kept rows per normalized licence."""
    kept_by: dict[str, int] = {}
    # decided from the license column alone; kept rows are copied as Arrow (the files never become
    # Python strings), dropped ones are converted to quarantine them with their full payload
    with RecordWriter(st.output("transitions.parquet"), TRANSITION_SCHEMA) as rw, st.quarantine() as qw:
        for batch in pq.ParquetFile(input_path).iter_batches(batch_size=1024):
            verdicts = [evaluate(lic or "", allow) for lic in batch.column("license").to_pylist()]
            for k, (norm, reason) in enumerate(verdicts):
                if norm is None:
                    row = batch.slice(k, 1).to_pylist()[0]
                    detail = f"licence {row.get('license')!r} of {row.get('repo')}: {reason}"
                    qw.add(row["id"], reason or "unknown_license", detail, row.get("source", ""), payload_of(row))
            keep = [norm is not None for norm, _ in verdicts]
            kept = pa.Table.from_batches([batch]).filter(pa.array(keep, pa.bool_()))
            norms = [norm for norm, _ in verdicts if norm is not None]
            i = kept.schema.get_field_index("license")
            rw.write_table(kept.set_column(i, kept.schema.field(i), pa.array(norms, kept.schema.field(i).type)))
            st.funnel.keep(len(norms))
            for norm in norms:
                kept_by[norm] = kept_by.get(norm, 0) + 1
    return kept_by
