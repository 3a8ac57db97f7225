"""Licence-file detection by text signatures."""

from __future__ import annotations

from pathlib import Path

import pytest

from codelewm.data.sources.licensefile import detect_license, spdx_from_text

MIT = """MIT License\n\nCopyright (c) 2024 X\n\nPermission is hereby granted, free of charge, to any person
obtaining a copy of this software and associated documentation files"""
APACHE = "                                 Apache License\n                           Version 2.0, January 2004\n"
BSD3 = """Redistribution and use in source and binary forms, with or without modification, are permitted...
3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or
promote products derived from this software"""
BSD2 = "Redistribution and use in source and binary forms, with or without modification, are permitted"
GPL3 = (
    "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"
    + "terms " * 100
    + "use the GNU Lesser General Public License"
)


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        (MIT, "MIT"),
        (APACHE, "Apache-2.0"),
        (BSD3, "BSD-3-Clause"),
        (BSD2, "BSD-2-Clause"),
        (GPL3, "GPL-3.0-only"),
        ("All rights reserved.", ""),
    ],
)
def test_signatures(text: str, spdx: str) -> None:
    assert spdx_from_text(text) == spdx


def test_detect_license_file(tmp_path: Path) -> None:
    assert detect_license(tmp_path) == ("", "")
    (tmp_path / "LICENSE.txt").write_text(MIT)
    assert detect_license(tmp_path) == ("MIT", "LICENSE.txt")
