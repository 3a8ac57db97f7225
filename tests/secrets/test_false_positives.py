"""False positives stay 0 on real code: the standard library and the venv's site-packages ``.py`` files.

The same run as ``python -m codelewm.secrets.fp_bench`` (which also prints the count and timing)."""

from __future__ import annotations

import pytest

from codelewm.secrets import fp_bench


@pytest.mark.slow
def test_no_findings_on_stdlib_and_site_packages() -> None:
    n_files, n_bytes, findings, _secs = fp_bench.run(fp_bench.default_roots())
    assert n_files > 5000 and n_bytes > 100_000_000  # both trees really were read
    assert [(f.rule, f.file, f.location) for f in findings] == []
