"""Recall over the planted corpus (every kind x every carrier), and no value anywhere in what the stage
prints or writes. Reproduce the table with ``python -m tests.secrets.test_recall``."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from codelewm.config import SecretScanConfig
from codelewm.secrets.rules import fingerprint
from codelewm.secrets.scan import scan
from tests.secrets.corpus import CARRIERS, KINDS, Plant, build

ROOT = Path(__file__).resolve().parents[2]


def recall(plants: list[Plant], findings: list[dict[str, str]]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """[found, planted] per kind and per carrier; found = a finding with the fingerprint of exactly the secret."""
    fps = {f["fingerprint"] for f in findings}
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_carrier: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in plants:
        hit = fingerprint(p.secret) in fps
        for table, key in ((by_kind, p.kind), (by_carrier, p.carrier)):
            table[key][0] += hit
            table[key][1] += 1
    return dict(by_kind), dict(by_carrier)


def test_recall_every_kind_in_every_carrier(tmp_path: Path) -> None:
    plants = build(tmp_path)
    assert (
        len(plants) >= 128 and {p.kind for p in plants} == set(KINDS) and {p.carrier for p in plants} == set(CARRIERS)
    )
    report = scan(SecretScanConfig(), [tmp_path])
    assert report["n_unscannable"] == 0, [f for f in report["findings"] if f["rule"] == "unscannable-file"]
    by_kind, by_carrier = recall(plants, report["findings"])
    missed = {k: v for k, v in {**by_kind, **by_carrier}.items() if v[0] < v[1]}
    assert not missed, missed
    # every finding is one of the plants (no stray or partial matches)
    planted = {fingerprint(p.secret) for p in plants}
    assert {f["fingerprint"] for f in report["findings"]} <= planted


def test_decoy_corpus_is_clean(tmp_path: Path) -> None:
    """The same carriers with the secrets replaced by what docs write in their place: no findings."""
    build(tmp_path, decoys=True)
    report = scan(SecretScanConfig(), [tmp_path])
    assert report["n_findings"] == 0, report["findings"]


def test_no_value_leaks_into_output_report_or_logs(tmp_path: Path) -> None:
    """Run the DVC stage's command on the whole corpus: no secret (nor any 12-character piece of one)
    appears in stdout, stderr, the findings JSON or any other file the stage writes."""
    corpus = tmp_path / "corpus"
    plants = build(corpus)
    out_dir = tmp_path / "out"
    params = tmp_path / "params.yaml"
    params.write_text("secret_scan: {max_file_bytes: 50000000, allowlist: []}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.secret_scan", "--params", str(params), "--scan", str(corpus)]
        + ["--out", str(out_dir / "findings.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1 and "finding(s)" in proc.stderr
    written = "".join(p.read_text(errors="replace") for p in out_dir.rglob("*") if p.is_file())
    assert "findings" in written
    blob = proc.stdout + proc.stderr + written
    for p in plants:
        s = p.secret
        pieces = {s} | {s[i : i + 12] for i in range(0, max(1, len(s) - 11), 4) if len(s) >= 12}
        leaked = [x for x in pieces if x in blob]
        assert not leaked, (p.kind, p.carrier)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        plants = build(Path(d))
        report = scan(SecretScanConfig(), [Path(d)])
    by_kind, by_carrier = recall(plants, report["findings"])
    for title, table in (("kind", by_kind), ("carrier", by_carrier)):
        print(f"{title:32s} found/planted")
        for k, (hit, n) in sorted(table.items()):
            print(f"  {k:30s} {hit}/{n}")
    total = sum(v[0] for v in by_kind.values())
    print(f"recall {total}/{len(plants)} ({len(by_kind)} kinds x {len(by_carrier)} carriers)")


if __name__ == "__main__":
    main()
