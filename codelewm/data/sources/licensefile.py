"""Detect a repository's licence from its LICENSE/COPYING file with well-known text signatures.

A small, conservative matcher: each SPDX id has phrases that must all occur in the whitespace- and
case-normalized text; the first (most specific) match wins. No match = "" (unknown), which the
licence gate then quarantines rather than guessing.
"""

from __future__ import annotations

import re
from pathlib import Path

LICENSE_FILENAMES = ("LICENSE", "LICENCE", "COPYING", "LICENSE.txt", "LICENSE.md", "LICENSE.rst",
                     "LICENCE.txt", "LICENCE.md", "COPYING.txt", "COPYING.md")  # fmt: skip

HEAD_CHARS = 400

# (spdx id, phrases that must all be present, phrases that must all be absent); specific ones first.
# A leading "^" restricts a phrase to the title area: GPL-3.0's text mentions the LGPL near its end.
SIGNATURES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("AGPL-3.0-only", ("^gnu affero general public license", "^version 3"), ()),
    ("LGPL-3.0-only", ("^gnu lesser general public license", "^version 3"), ()),
    ("LGPL-2.1-only", ("^gnu lesser general public license", "^version 2.1"), ()),
    ("GPL-3.0-only", ("^gnu general public license", "^version 3"), ()),
    ("GPL-2.0-only", ("^gnu general public license", "^version 2"), ()),
    ("MPL-2.0", ("^mozilla public license", "2.0"), ()),
    ("Apache-2.0", ("^apache license", "^version 2.0"), ()),
    ("PSF-2.0", ("python software foundation license version 2",), ()),
    ("MIT", ("permission is hereby granted, free of charge, to any person obtaining a copy",), ()),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "endorse or promote products"), ()),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",), ("endorse or promote products",)),
    (
        "ISC",
        (
            "permission to use, copy, modify, and",
            "for any purpose with or without fee is hereby granted",
            "provided that the above copyright notice",
        ),
        (),
    ),  # fmt: skip
    ("0BSD", ("permission to use, copy, modify, and", "for any purpose with or without fee is hereby granted"), ()),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",), ()),
    ("CC0-1.0", ("cc0 1.0 universal",), ()),
    (
        "Zlib",
        ("provided 'as-is', without any express or implied warranty", "altered source versions must be plainly marked"),
        (),
    ),
)


def spdx_from_text(text: str) -> str:
    """SPDX id whose signature matches ``text``, or "" when none does."""
    norm = re.sub(r"\s+", " ", text.replace("\u2019", "'")).lower()
    head = norm[:HEAD_CHARS]

    def has(p: str) -> bool:
        return p[1:] in head if p.startswith("^") else p in norm

    for spdx, must, must_not in SIGNATURES:
        if all(has(p) for p in must) and not any(has(p) for p in must_not):
            return spdx
    return ""


def detect_license(repo_dir: Path) -> tuple[str, str]:
    """(spdx id or "", the licence file name used or "") for a working tree's root."""
    for name in LICENSE_FILENAMES:
        p = Path(repo_dir) / name
        if p.is_file():
            return spdx_from_text(p.read_bytes()[:200_000].decode("utf-8", "replace")), name
    return "", ""
