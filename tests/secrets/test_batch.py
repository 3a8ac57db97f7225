"""Batched, deduplicated detection finds exactly what scanning every text on its own finds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codelewm.secrets import batch
from codelewm.secrets.batch import Detector
from codelewm.secrets.detect import find_secrets
from tests.secrets.corpus import KINDS

STDLIB = Path(random.__file__).parent


def _near_duplicates(r: random.Random) -> list[str]:
    """Files, near-copies of them with a few lines changed, exact copies, and secrets planted in some,
    including the same secret line in several files and multi-line PEM blocks."""
    bases = [p.read_text() for p in sorted(STDLIB.glob("[a-c]*.py"))[:6]]
    secrets = [gen(r)[1] for _kind, gen in sorted(KINDS.items())]
    texts = []
    for base in bases:
        lines = base.splitlines(True)
        for _ in range(4):
            cur = list(lines)
            for _ in range(r.randrange(0, 3)):
                cur[r.randrange(len(cur))] = f"x = {r.random()}\n"
            if r.random() < 0.6:
                cur.insert(r.randrange(len(cur)), r.choice(secrets) + "\n")
            texts.append("".join(cur))
        texts.append(base)
    texts += [r.choice(secrets) for _ in range(5)] + texts[:3]  # short texts and exact repeats
    return texts


@pytest.mark.parametrize("seed,batch_chars", [(11, 50_000), (12, 4 << 20), (13, 5_000), (14, 200_000)])
def test_dedup_finds_what_a_full_scan_finds(monkeypatch, seed: int, batch_chars: int) -> None:  # noqa: ANN001
    monkeypatch.setattr(batch, "BATCH_CHARS", batch_chars)
    r = random.Random(seed)
    texts = _near_duplicates(r)
    expected = {(i, m.rule, m.start, m.end, m.fingerprint) for i, t in enumerate(texts) for m in find_secrets(t)}
    d = Detector()
    got: set[tuple[int, str, int, int, str]] = set()
    for k in range(0, len(texts), 7):  # several calls share the detector's memory, as files do
        chunk = texts[k : k + 7]
        got |= {(k + i, m.rule, m.start, m.end, m.fingerprint) for i, m in d.scan_parts(chunk)}
    assert len(expected) > 10 and got == expected


def test_a_secret_seen_before_is_reported_again() -> None:
    secret = KINDS["huggingface-token"](random.Random(1))[1]
    body = "".join(f"line {i}\n" for i in range(400))
    a = body + secret + "\n" + body
    b = body.replace("line 7\n", "line seven\n") + secret + "\n" + body
    d = Detector()
    assert [m.rule for _i, m in d.scan_parts([a])] == ["huggingface-token"]
    assert [m.rule for _i, m in d.scan_parts([b])] == ["huggingface-token"]
    assert [m.rule for _i, m in d.scan_parts([a])] == ["huggingface-token"]  # exact repeat: from memory
