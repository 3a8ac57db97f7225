"""Hugging Face source: CommitPackFT-shaped rows -> one transition per changed symbol.

Row fields: ``old_contents``, ``new_contents``, ``message``, ``license``, ``repos`` (comma-separated;
the first is the split group) and, when present, ``old_file``/``new_file``/``commit``. With
``hf.data_files`` the rows come from local files: parquet through ``datasets.load_dataset`` (streamed),
JSON lines read line by line so one malformed line is quarantined instead of failing the whole load.
Otherwise the hub id is loaded with ``datasets`` — streamed when online; with ``HF_HUB_OFFLINE=1``
only the local cache is used (``datasets`` raises if the data is not cached: a loud config error).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codelewm.config import HFSourceConfig, QualityConfig
from codelewm.data.sources.base import Event, Quarantined, file_change_events, payload_of
from codelewm.records import stable_id

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or os.environ.get(
        "HF_DATASETS_OFFLINE", "0"
    ).lower() in ("1", "true", "yes")


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """(locator, parsed row or a Quarantined) per line; bytes-level so bad encodings are caught too."""
    with open(path, "rb") as f:
        for i, raw in enumerate(f):
            loc = f"{path.name}:{i}"
            if not raw.strip():
                continue
            try:
                yield loc, json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                rid = stable_id("hf", loc)
                yield loc, Quarantined(rid, "invalid_json", f"{loc}: {type(e).__name__}", payload_of(raw))


def _parquet_rows(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    import datasets

    for path in paths:
        ds = datasets.load_dataset("parquet", data_files=[str(path)], split="train", streaming=True)
        for i, row in enumerate(ds):
            yield f"{path.name}:{i}", row


def _hub_rows(cfg: HFSourceConfig) -> Iterator[tuple[str, Any]]:
    import datasets

    offline = hub_offline()  # streaming needs the network; offline = cached copy only
    ds = datasets.load_dataset(cfg.dataset, cfg.name or None, split=cfg.split, streaming=not offline)
    for i, row in enumerate(ds):
        yield f"{cfg.dataset}:{cfg.split}:{i}", row


class HFSource:
    """Iterable of transitions and quarantined rows from CommitPackFT-shaped data."""

    name = "hf"

    def __init__(self, cfg: HFSourceConfig, qcfg: QualityConfig):
        self.cfg, self.qcfg = cfg, qcfg
        self.stats: dict[str, Any] = {"rows_read": 0, "origin": list(cfg.data_files) or cfg.dataset}

    def _rows(self) -> Iterator[tuple[str, Any]]:
        if not self.cfg.data_files:
            yield from _hub_rows(self.cfg)
            return
        for f in self.cfg.data_files:
            p = Path(f)
            if not p.is_file():
                raise FileNotFoundError(f"ingest.hf.data_files: {p} does not exist")
            if p.suffix in JSONL_SUFFIXES:
                yield from _jsonl_rows(p)
            elif p.suffix == ".parquet":
                yield from _parquet_rows([p])
            else:
                raise ValueError(f"ingest.hf.data_files: {p} is neither parquet nor jsonl")

    def __iter__(self) -> Iterator[Event]:
        for loc, row in self._rows():
            if self.cfg.max_rows and self.stats["rows_read"] >= self.cfg.max_rows:
                break
            self.stats["rows_read"] += 1
            if isinstance(row, Quarantined):
                yield row
                continue
            yield from self._row_events(loc, row)

    def _row_events(self, loc: str, row: Any) -> Iterator[Event]:
        rid = stable_id(self.name, loc)
        if not isinstance(row, dict):
            yield Quarantined(rid, "invalid_row", f"{loc}: row is a {type(row).__name__}", payload_of(row))
            return
        repos = row.get("repos")
        repo = repos.split(",")[0].strip() if isinstance(repos, str) else ""
        if not repo:
            yield Quarantined(rid, "missing_repo", f"{loc}: no repos field (split group)", payload_of(row))
            return
        path = row.get("new_file") or row.get("old_file") or f"{loc.replace(':', '_')}.py"
        lic = row.get("license")
        yield from file_change_events(
            source=self.name,
            repo=repo,
            path=path if isinstance(path, str) else "",
            license=lic if isinstance(lic, str) else "",
            message=row.get("message"),
            before=row.get("old_contents"),
            after=row.get("new_contents"),
            meta={"row": loc, "commit": str(row.get("commit") or "")},
            locator=(loc, str(row.get("commit") or "")),
            qcfg=self.qcfg,
            raw=row,
        )
