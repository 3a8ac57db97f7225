"""False-positive benchmark: scan the ``.py`` files of the standard library and of site-packages.

Real code mentions passwords, tokens and keys all the time and holds none; every finding here is a
false positive (or a real leak in an installed package, to be checked by hand). Run:

    python -m codelewm.secrets.fp_bench            # stdlib + this interpreter's site-packages
    python -m codelewm.secrets.fp_bench DIR ...    # other trees

Prints the files, bytes, seconds and the findings (rule, file, location, fingerprint; never values);
exits 1 when there is any finding.
"""

from __future__ import annotations

import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

from codelewm.config import SecretScanConfig
from codelewm.secrets.scan import Finding, scan_entry


def default_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    return [Path(paths["stdlib"]), Path(paths["purelib"])]


def py_files(roots: list[Path]) -> list[Path]:
    """Regular ``.py`` files; the stdlib's own site-packages is skipped (it is not the venv's)."""
    stdlib_site = Path(sysconfig.get_paths()["stdlib"]) / "site-packages"
    out = []
    for root in roots:
        for p in sorted(root.rglob("*.py")):
            if p.is_file() and not p.is_symlink() and (root == stdlib_site or stdlib_site not in p.parents):
                out.append(p)
    return out


def run(roots: list[Path]) -> tuple[int, int, list[Finding], float]:
    cfg = SecretScanConfig(max_file_bytes=200_000_000)
    t0 = time.perf_counter()
    files = py_files(roots)
    findings: list[Finding] = []
    n_bytes = 0
    for p in files:
        found, _kind, n = scan_entry(p, cfg)
        findings += found
        n_bytes += n
    return len(files), n_bytes, findings, time.perf_counter() - t0


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or default_roots()
    n_files, n_bytes, findings, secs = run(roots)
    for f in findings:
        print(f"{f.rule}\t{f.file}\t{f.location}\t{f.fingerprint}\t{f.reason}")
    by_rule = dict(Counter(f.rule for f in findings).most_common())
    print(f"roots: {', '.join(map(str, roots))}")
    print(f"{n_files} .py files, {n_bytes:,} bytes in {secs:.1f}s: {len(findings)} finding(s) {by_rule}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
