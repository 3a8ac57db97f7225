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
        found: set[tuple[int, Match]] = set()
        pieces: list[tuple[int, int, str]] = []  # (part index, offset in part, text to scan)
        skipped: dict[int, tuple[list[str], list[bool]]] = {}  # long part -> (its lines, line skipped?)
        for i, t in enumerate(parts):
            hit = self._texts.get((len(t), hash(t))) if len(t) >= MIN_CACHED else None
            if hit is not None:
                found.update((i, m) for m in hit)
            elif len(t) < LINE_DEDUP_CHARS:
                pieces.append((i, 0, t))
            else:
                lines = t.splitlines(keepends=True)
                keys = list(map(hash, lines))
                fresh = set(keys).difference(self._lines)
                if self._flagged:
                    fresh |= self._flagged.intersection(keys)
                self._lines.update(keys)
                new = [k in fresh for k in keys]
                pieces.extend((i, off, sub) for off, sub in _regions(t, lines, new))
                skipped[i] = (lines, [not n for n in new])
        found.update(self._scan(parts, pieces))
        # A line skipped because an earlier text of this call held it may turn out to be part of a finding
        # there: scan those lines again where they were skipped (rare: only when something was found).
        while True:
            redo = []
            for i, (lines, skip) in skipped.items():
                again = [sk and hash(ln) in self._flagged for ln, sk in zip(lines, skip)]
                if any(again):
                    redo.extend((i, off, sub) for off, sub in _regions(parts[i], lines, again))
                    skipped[i] = (lines, [sk and not a for sk, a in zip(skip, again)])
            if not redo:
                break
            found.update(self._scan(parts, redo))
        by_part: dict[int, list[Match]] = {}
        for i, m in found:
            by_part.setdefault(i, []).append(m)
        for i, t in enumerate(parts):
            if len(t) >= MIN_CACHED and (len(t) < LINE_DEDUP_CHARS or i not in by_part):
                self._texts[(len(t), hash(t))] = tuple(sorted(by_part.get(i, []), key=lambda m: m.start))
        return sorted(found, key=lambda im: (im[0], im[1].start, im[1].rule))

    def _scan(self, parts: list[str], pieces: list[tuple[int, int, str]]) -> list[tuple[int, Match]]:
        out: list[tuple[int, Match]] = []
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

    def _scan_batch(self, parts: list[str], batch: list[tuple[int, int, str]]) -> list[tuple[int, Match]]:
        starts, pos = [], 0
        for _i, _off, sub in batch:
            starts.append(pos)
            pos += len(sub) + len(SEP)
        out = []
        for m in find_secrets(SEP.join(sub for _i, _off, sub in batch)):
            k = bisect_right(starts, m.start) - 1
            i, off, _sub = batch[k]
            base = starts[k] - off  # match offsets relative to the whole part
            m = Match(m.rule, m.start - base, m.end - base, m.fingerprint)
            out.append((i, m))
            t = parts[i]
            if len(t) >= LINE_DEDUP_CHARS:  # lines of a finding stay "new": a copy elsewhere is reported again
                a = t.rfind("\n", 0, m.start) + 1
                b = t.find("\n", m.end)
                self._flagged.update(map(hash, t[a : len(t) if b == -1 else b + 1].splitlines(True)))
        return out


def _regions(text: str, lines: list[str], new: list[bool]) -> list[tuple[int, str]]:
    """(offset, text) of each run of new lines, widened by CONTEXT lines on both sides."""
    spans: list[tuple[int, int]] = []  # line ranges [a, b)
    for j, is_new in enumerate(new):
        if not is_new:
            continue
        a, b = max(0, j - CONTEXT), min(len(lines), j + CONTEXT + 1)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    if not spans:
        return []
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))
    return [(offsets[a], text[offsets[a] : offsets[b]]) for a, b in spans]
