"""Secret scan: findings per format with locations, fail-closed on everything unscannable (symlinks,
FIFOs, oversize, unknown binary, corrupt containers, hidden safetensors bytes) unless allowlisted by
the file's sha256, names redacted, and the pipeline wrapper's exit codes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from codelewm.config import SecretScanConfig
from codelewm.secrets.rules import fingerprint
from codelewm.secrets.scan import run_secret_scan, scan
from tests.secrets.conftest import SECRETS, embed_secret
from tests.secrets.corpus import _png, _safetensors
from tests.secrets.test_rules import CLEAN_CODE

TOKEN = SECRETS["github-token"]


def _one(root: Path, cfg: SecretScanConfig | None = None) -> list[dict[str, str]]:
    return scan(cfg or SecretScanConfig(), [root])["findings"]


def test_locations_name_row_column_and_line(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "rec": [{"n": 1, "s": "x"}, {"n": 2, "s": "y"}, {"n": 3, "s": "line1\n" + TOKEN}],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    (f,) = _one(tmp_path)
    assert f["location"] == "row_group 1 row 0 column 1.1 (s) line 2" and f["rule"] == "github-token"
    assert f["fingerprint"] == fingerprint(TOKEN)


def test_metadata_key_secret_is_not_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's case: a secret used as a Parquet metadata key was printed in full."""
    key = embed_secret("huggingface-token", SECRETS["huggingface-token"])
    pq.write_table(pa.table({"n": [1]}).replace_schema_metadata({key: "v"}), tmp_path / "t.parquet")
    out = tmp_path / "o" / "scan.json"
    assert run_secret_scan(SecretScanConfig(), [tmp_path / "t.parquet"], out) >= 1
    blob = out.read_text() + "".join(capsys.readouterr())
    assert SECRETS["huggingface-token"] not in blob and "metadata entry #1 key" in blob  # entry #0 is ARROW:schema


def test_secret_in_file_name_is_redacted(tmp_path: Path) -> None:
    (tmp_path / f"notes-{TOKEN}.txt").write_text("fine\n")
    (f,) = _one(tmp_path)
    assert f["location"] == "file name" and TOKEN not in f["file"]
    assert f["file"].endswith(f"<name redacted {fingerprint(f'notes-{TOKEN}.txt')}>")


def test_clean_files_pass(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text(CLEAN_CODE)
    (tmp_path / "metrics.json").write_text(json.dumps({"r1": 0.5, "token_count": 12}))
    pq.write_table(pa.table({"before_state": [CLEAN_CODE], "n": [1]}), tmp_path / "s.parquet")
    (tmp_path / "m.safetensors").write_bytes(_safetensors({"format": "pt", "action": "text"}))
    (tmp_path / "plot.png").write_bytes(_png([(b"tEXt", b"Software\0matplotlib version3.8")]))
    (tmp_path / "log.gz").write_bytes(gzip.compress(CLEAN_CODE.encode()))
    report = scan(SecretScanConfig(), [tmp_path])
    assert report["n_findings"] == 0, report["findings"]
    assert report["files_by_kind"] == {"gzip": 1, "parquet": 1, "png": 1, "safetensors": 1, "text": 2}


def _unscannables(root: Path) -> dict[str, str]:
    """One file per way of being unscannable; name -> expected reason (substring)."""
    (root / "big.txt").write_text("x" * 2000)
    (root / "blob.bin").write_bytes(bytes(range(256)) * 3)
    (root / "link.txt").symlink_to(root / "big.txt")
    os.mkfifo(root / "fifo.py")
    (root / "bad.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (root / "bad.parquet").write_bytes(b"PAR1" + b"\x01" * 40 + b"PAR1")
    png = bytearray(_png([(b"tEXt", b"k\0v")]))
    png[40] ^= 0xFF  # break a CRC
    (root / "bad.png").write_bytes(bytes(png))
    (root / "gap.safetensors").write_bytes(_safetensors({"format": "pt"}) + b"hidden bytes")
    (root / "trunc.gz").write_bytes(gzip.compress(b"y" * 500)[:20])
    (root / "after-iend.png").write_bytes(_png([]) + bytes(range(256)))
    return {
        "big.txt": "larger than",
        "blob.bin": "unknown binary",
        "link.txt": "symlink",
        "fifo.py": "not a regular file",
        "bad.zip": "corrupt",
        "bad.parquet": "corrupt Parquet",
        "bad.png": "corrupt PNG chunk",
        "gap.safetensors": "bytes after the last safetensors tensor",
        "trunc.gz": "corrupt",
        "after-iend.png": "unknown binary",
    }


def test_every_unscannable_file_fails_and_can_be_allowlisted_by_sha256(tmp_path: Path) -> None:
    expected = _unscannables(tmp_path)
    cfg = SecretScanConfig(max_file_bytes=1000)
    report = scan(cfg, [tmp_path])
    got = {Path(f["file"]).name: f for f in report["findings"]}
    assert set(got) == set(expected) and report["n_unscannable"] == len(expected)
    for name, reason in expected.items():
        assert got[name]["rule"] == "unscannable-file" and reason in got[name]["reason"], got[name]
    sha = hashlib.sha256((tmp_path / "blob.bin").read_bytes()).hexdigest()
    assert got["blob.bin"]["fingerprint"] == sha
    allow = SecretScanConfig(max_file_bytes=1000, allowlist=tuple(f["fingerprint"] for f in got.values()))
    again = scan(allow, [tmp_path])
    assert again["n_findings"] == 0 and again["n_allowlisted"] == len(expected)


def test_zip_bomb_is_capped(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", "0" * 5000)
    (tmp_path / "bomb.zip").write_bytes(buf.getvalue())
    (f,) = _one(tmp_path, SecretScanConfig(max_file_bytes=1000))
    assert f["rule"] == "unscannable-file" and "over the cap" in f["reason"]


def test_allowlist_by_value_fingerprint(tmp_path: Path) -> None:
    value = SECRETS["huggingface-token"]
    (tmp_path / "notes.txt").write_text(embed_secret("huggingface-token", value) + "\n")
    cfg = SecretScanConfig(allowlist=(fingerprint(value),))
    assert run_secret_scan(cfg, [tmp_path / "notes.txt"], tmp_path / "scan.json") == 0
    report = json.loads((tmp_path / "scan.json").read_text())
    assert report["n_allowlisted"] == 1 and report["allowlisted"][0]["rule"] == "huggingface-token"


def test_binary_cell_payloads_are_sniffed(tmp_path: Path) -> None:
    """A quarantined raw file can be anything: gzip or UTF-16 bytes are decoded, unknown binary fails."""
    hf = SECRETS["huggingface-token"]
    payloads = [gzip.compress(TOKEN.encode()), hf.encode("utf-16"), b"\x00\x01\x02\xff" * 20]
    pq.write_table(pa.table({"payload": pa.array(payloads, pa.binary())}), tmp_path / "q.parquet")
    found = {(f["rule"], f["location"]) for f in _one(tmp_path)}
    assert found == {
        ("github-token", "row_group 0 row 0 column 0 (payload) (gzip) line 1"),
        ("huggingface-token", "row_group 0 row 1 column 0 (payload) (utf-16-le) line 1"),
        ("unscannable-file", "row_group 0 row 2 column 0 (payload)"),
    }


def test_missing_scan_path_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_secret_scan(SecretScanConfig(), [tmp_path / "nope"], tmp_path / "o.json")


def test_pipeline_wrapper_exit_codes(tmp_path: Path) -> None:
    from pipeline.secret_scan import main

    params = tmp_path / "params.yaml"
    params.write_text("secret_scan: {max_file_bytes: 1000000, allowlist: []}\n")
    clean, dirty, opaque = tmp_path / "clean", tmp_path / "dirty", tmp_path / "opaque"
    for d in (clean, dirty, opaque):
        d.mkdir()
    (clean / "a.md").write_text("# fine\n")
    (dirty / "a.md").write_text(embed_secret("github-token", TOKEN) + "\n")
    (opaque / "a.bin").write_bytes(bytes(range(256)))
    runner = CliRunner()

    def run(d: Path) -> int:
        res = runner.invoke(main, ["--params", str(params), "--scan", str(d), "--out", str(tmp_path / "o.json")])
        assert TOKEN not in res.output
        return res.exit_code

    assert (run(clean), run(dirty), run(opaque)) == (0, 1, 1)


def test_require_dvc_outputs_refuses_an_unscanned_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.secret_scan import main

    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  a:\n    cmd: x\n    outs:\n    - out/a.txt\n    - out/q.parquet\n"
        "    metrics:\n    - out/m.json:\n        cache: false\n"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("ok\n")
    (tmp_path / "params.yaml").write_text("secret_scan: {}\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["--require-dvc-outputs", "dvc.yaml", "--scan", "out/a.txt", "--out", "scan.json"])
    assert res.exit_code == 2 and "out/m.json, out/q.parquet" in res.output
    (tmp_path / "out" / "q.parquet").write_text("")
    (tmp_path / "out" / "m.json").write_text("{}")
    ok = runner.invoke(main, ["--require-dvc-outputs", "dvc.yaml", "--scan", "out", "--out", "scan.json"])
    assert ok.exit_code == 0, ok.output


def test_truncated_safetensors_header_is_not_mistaken_for_text(tmp_path: Path) -> None:
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    (f,) = _one(tmp_path)
    assert f["rule"] == "unscannable-file"  # not safetensors, not text (control bytes): fail
