"""Secret scan: planted secrets of every kind are found in md/json/parquet/safetensors metadata,
values never leak into the findings JSON or stderr, clean files pass, the allowlist works, and the
pipeline wrapper exits non-zero on a finding."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from codelewm.config import SecretScanConfig
from codelewm.secrets.rules import fingerprint
from codelewm.secrets.scan import run_secret_scan
from tests.secrets.conftest import SECRETS, embed_secret
from tests.secrets.test_rules import CLEAN_CODE


def _write_safetensors(path: Path, metadata: dict[str, str]) -> None:
    header = {"__metadata__": metadata, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"\x00" * 8)


def _plant(root: Path) -> None:
    """One file per format; each secret planted in one of them."""
    rules = sorted(SECRETS)
    (root / "report.md").write_text("# Report\n\n" + "\n".join(embed_secret(r, SECRETS[r]) for r in rules[:4]) + "\n")
    (root / "config.json").write_text(json.dumps({"note": embed_secret(rules[4], SECRETS[rules[4]]), "steps": 3}))
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "before_state": ["def f():\n    return 1\n", embed_secret(rules[5], SECRETS[rules[5]]), "x = 2"],
            "edit_ops": [["insert"], [], ["update", embed_secret(rules[6], SECRETS[rules[6]])]],
            "n": [1, 2, 3],
        }
    )
    pq.write_table(table, root / "shard.parquet", row_group_size=2)
    meta = {r: embed_secret(r, SECRETS[r]) for r in rules[7:]}
    _write_safetensors(root / "model.safetensors", meta)


def test_run_finds_all_planted_secrets_without_leaking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "art"
    data.mkdir()
    _plant(data)
    out = tmp_path / "scan.json"
    n = run_secret_scan(SecretScanConfig(), [data], out)
    report = json.loads(out.read_text())
    assert n == report["n_findings"] >= len(SECRETS)
    assert {f["rule"] for f in report["findings"]} == set(SECRETS)
    assert {f["file"].rsplit("/", 1)[-1] for f in report["findings"]} == {
        "report.md",
        "config.json",
        "shard.parquet",
        "model.safetensors",
    }
    parquet_locs = [f["location"] for f in report["findings"] if f["file"].endswith(".parquet")]
    assert any("row_group 1 row 0 column edit_ops" in loc for loc in parquet_locs)
    assert all(set(f) == {"file", "location", "rule", "fingerprint"} for f in report["findings"])
    err = capsys.readouterr().err
    blob = out.read_text() + err
    for value in SECRETS.values():
        for piece in value.splitlines():  # no line of any secret (PEM bodies included) leaks
            if len(piece) >= 16:
                assert piece not in blob


def test_clean_files_pass(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text(CLEAN_CODE)
    (tmp_path / "metrics.json").write_text(json.dumps({"r1": 0.5, "token_count": 12}))
    pq.write_table(pa.table({"before_state": [CLEAN_CODE], "n": [1]}), tmp_path / "s.parquet")
    _write_safetensors(tmp_path / "m.safetensors", {"format": "pt", "action": "text"})
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    out = tmp_path / "out" / "scan.json"
    assert run_secret_scan(SecretScanConfig(), [tmp_path], out) == 0
    report = json.loads(out.read_text())
    assert report["files_scanned"] == 5
    assert report["skipped"] == [{"file": (tmp_path / "plot.png").as_posix(), "reason": "skipped:image.png"}]


def test_allowlist_by_fingerprint(tmp_path: Path) -> None:
    value = SECRETS["huggingface-token"]
    (tmp_path / "notes.txt").write_text(embed_secret("huggingface-token", value) + "\n")
    out = tmp_path / "scan.json"
    cfg = SecretScanConfig(allowlist=(fingerprint(value),))
    assert run_secret_scan(cfg, [tmp_path / "notes.txt"], out) == 0
    report = json.loads(out.read_text())
    assert report["n_allowlisted"] == 1 and report["allowlisted"][0]["rule"] == "huggingface-token"


def test_binary_and_corrupt_files(tmp_path: Path) -> None:
    value = SECRETS["stripe-live-key"]
    (tmp_path / "index.bin").write_bytes(b"\x00\x01" * 50 + value.encode() + b"\x00" * 10)
    (tmp_path / "broken.safetensors").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    out = tmp_path / "scan.json"
    assert run_secret_scan(SecretScanConfig(), [tmp_path], out) == 2
    rules = sorted(f["rule"] for f in json.loads(out.read_text())["findings"])
    assert rules == ["stripe-live-key", "unscannable-file"]


def test_missing_scan_path_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_secret_scan(SecretScanConfig(), [tmp_path / "nope"], tmp_path / "o.json")


def test_pipeline_wrapper_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.secret_scan import main

    params = tmp_path / "params.yaml"
    params.write_text("secret_scan: {max_file_bytes: 1000000, allowlist: []}\n")
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    clean.mkdir()
    dirty.mkdir()
    (clean / "a.md").write_text("# fine\n")
    (dirty / "a.md").write_text(embed_secret("github-token", SECRETS["github-token"]) + "\n")
    runner = CliRunner()
    ok = runner.invoke(main, ["--params", str(params), "--scan", str(clean), "--out", str(tmp_path / "o1.json")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["--params", str(params), "--scan", str(dirty), "--out", str(tmp_path / "o2.json")])
    assert bad.exit_code != 0
    assert SECRETS["github-token"] not in bad.output
