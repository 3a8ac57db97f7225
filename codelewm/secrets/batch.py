"""Detection over many texts at once: batched, and each distinct text (and each distinct line of a long
text) scanned once per run.

The data stages hold the same code many times: siblings repeat their before-file, every after-file is
its before-file with a few lines changed, and license/dedup copy their input's rows. So a long text is
cut into lines; only runs of lines not seen before (in any text of this run), widened by ``CONTEXT``
lines on each side, are scanned. A line that was part of a finding is never treated as seen: the same
secret in another file is reported there too. Short texts are remembered whole by (length, hash).
What this skips is exactly the text scanned before, in a context of at least ``CONTEXT`` lines; a
multi-line secret assembled only from lines that were each scanned elsewhere without a finding (and
more than ``CONTEXT`` lines from any new line) would be missed: every rule's matches are single-line,
or span adjacent lines of one block (PEM bodies are new lines themselves).
"""

from __future__ import annotations

from bisect import bisect_right

from codelewm.secrets.detect import find_secrets
from codelewm.secrets.rules import Match

SEP = "\n\x00\n"  # joins independent texts: no rule matches across a NUL between line breaks
BATCH_CHARS = 4 << 20  # texts are joined into batches of about this size (one regex pass per rule)
MIN_CACHED = 64  # shorter texts are cheap: not remembered
LINE_DEDUP_CHARS = 2048  # texts at least this long are deduplicated by line
CONTEXT = 8  # lines scanned around each run of new lines


class Detector:
    def __init__(self) -> None:
        self._texts: dict[tuple[int, int], tuple[Match, ...]] = {}
        self._lines: set[int] = set()  # hash of every line scanned (in context) in this run
        self._flagged: set[int] = set()  # lines that were part of a finding

    def scan_parts(self, parts: list[str]) -> list[tuple[int, Match]]:
        """(part index, match with offsets within that part) for every match in every part."""
        out: list[tuple[int, Match]] = []
        pieces: list[tuple[int, int, str]] = []  # (part index, offset in part, text to scan)
        for i, t in enumerate(parts):
            hit = self._texts.get((len(t), hash(t))) if len(t) >= MIN_CACHED else None
            if hit is not None:
                out.extend((i, m) for m in hit)
            elif len(t) < LINE_DEDUP_CHARS:
                pieces.append((i, 0, t))
            else:
                regions = self._new_regions(t)
                if not regions:
                    self._texts[(len(t), hash(t))] = ()
                pieces.extend((i, off, sub) for off, sub in regions)
        batch: list[tuple[int, int, str]] = []
        size = 0
        for piece in pieces:
            batch.append(piece)
            size += len(piece[2]) + len(SEP)
            if size >= BATCH_CHARS:
                out.extend(self._scan_batch(parts, batch))
                batch, size = [], 0
        if batch:
            out.extend(self._scan_batch(parts, batch))
        return out

    def _new_regions(self, text: str) -> list[tuple[int, str]]:
        lines = text.splitlines(keepends=True)
        keys = list(map(hash, lines))
        fresh = set(keys).difference(self._lines)
        if self._flagged:
            fresh |= self._flagged.intersection(keys)
        self._lines.update(keys)
        if not fresh:
            return []
        new = [k in fresh for k in keys]
        regions: list[tuple[int, int]] = []  # line ranges [a, b)
        for j, is_new in enumerate(new):
            if not is_new:
                continue
            a, b = max(0, j - CONTEXT), min(len(lines), j + CONTEXT + 1)
            if regions and a <= regions[-1][1]:
                regions[-1] = (regions[-1][0], max(regions[-1][1], b))
            else:
                regions.append((a, b))
        if not regions:
            return []
        offsets = [0]
        for ln in lines:
            offsets.append(offsets[-1] + len(ln))
        return [(offsets[a], text[offsets[a] : offsets[b]]) for a, b in regions]

    def _scan_batch(self, parts: list[str], batch: list[tuple[int, int, str]]) -> list[tuple[int, Match]]:
        starts, pos = [], 0
        for _i, _off, sub in batch:
            starts.append(pos)
            pos += len(sub) + len(SEP)
        per: dict[int, list[Match]] = {k: [] for k in range(len(batch))}
        for m in find_secrets(SEP.join(sub for _i, _off, sub in batch)):
            k = bisect_right(starts, m.start) - 1
            base = starts[k] - batch[k][1]  # match offsets relative to the whole part
            per[k].append(Match(m.rule, m.start - base, m.end - base, m.fingerprint))
        out = []
        for k, (i, _off, _sub) in enumerate(batch):
            t = parts[i]
            if len(t) < LINE_DEDUP_CHARS:
                if len(t) >= MIN_CACHED:
                    self._texts[(len(t), hash(t))] = tuple(per[k])
            else:  # (a long text is remembered whole only when clean: its matches may span regions)
                for m in per[k]:  # lines of a finding stay "new": a copy elsewhere is reported again
                    a = t.rfind("\n", 0, m.start) + 1
                    b = t.find("\n", m.end)
                    self._flagged.update(hash(ln) for ln in t[a : len(t) if b == -1 else b + 1].splitlines(True))
            out.extend((i, m) for m in per[k])
        return out
