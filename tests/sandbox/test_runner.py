"""Sandbox containment: outcomes are classified, and hostile programs are contained.

Each hostile program runs twice where the OS layer allows it: with the in-process guard (default)
and with the guard off, which shows the OS limits/namespaces alone contain it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codelewm.sandbox.runner import NOBODY_UID, SandboxLimits, isolation, run_python

# Starts sandboxed (uid nobody) processes: `make test` runs these serially, because concurrent
# sandboxes share nobody's process limit and the containment checks look for nobody processes host-wide.
pytestmark = pytest.mark.sandbox

FAST = SandboxLimits(timeout_s=3.0, cpu_s=1, memory_mb=256, max_file_mb=1, max_procs=32)
OS_LAYER = "uid" in isolation().split("+") or "netns" in isolation()
GUARDS = [True, pytest.param(False, marks=pytest.mark.skipif(not OS_LAYER, reason=f"isolation={isolation()}"))]


@pytest.fixture
def sbx_root() -> Iterator[Path]:
    """A temp root the unprivileged sandbox uid can traverse (pytest's tmp_path is root-only)."""
    root = Path(tempfile.mkdtemp(prefix="codelewm-test-sbx-"))
    os.chmod(root, 0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _limits(guard: bool, **kw: object) -> SandboxLimits:
    return SandboxLimits(**{**FAST.__dict__, "guard": guard, **kw})  # type: ignore[arg-type]


def _nobody_procs() -> list[str]:
    out = subprocess.run(["ps", "-u", str(NOBODY_UID), "-o", "pid="], capture_output=True, text=True).stdout
    return out.split()


def _host_healthy() -> None:
    assert subprocess.run(["true"], timeout=10).returncode == 0  # host can still fork/exec
    if "uid" in isolation().split("+"):
        deadline = time.monotonic() + 5
        while _nobody_procs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _nobody_procs() == [], "sandboxed processes outlived the run"


@pytest.mark.parametrize(
    "code,status",
    [
        ("print('ok')", "passed"),
        ("def f(x):\n    return x + 1\nassert f(1) == 2\n", "passed"),
        ("assert 1 == 2", "failed"),
        ("raise ValueError('boom')", "error"),
        ("def f(:\n  pass", "error"),
        ("import sys\nsys.exit(0)", "error"),  # exiting early is not a way to pass
    ],
)
def test_outcomes_are_classified(code: str, status: str) -> None:
    res = run_python(code, FAST)
    assert res.status == status, res.stderr_tail
    assert res.isolation == isolation()


def test_environment_is_minimal_and_dir_is_removed(sbx_root: Path) -> None:
    code = (
        "import os, sys\nprint(sorted(os.environ))\nprint(sys.flags.isolated, sys.flags.no_site)\n"
        "open('x','w').write('1')"
    )
    res = run_python(code, FAST, tmp_root=sbx_root)
    assert res.status == "passed", res.stderr_tail
    assert "['HOME', 'LANG', 'PATH', 'PYTHONHASHSEED']" in res.stdout_tail
    assert "1 1" in res.stdout_tail
    assert list(sbx_root.iterdir()) == []  # the fresh temp dir is gone


@pytest.mark.parametrize("guard", GUARDS)
def test_infinite_loop_is_stopped(guard: bool) -> None:
    res = run_python("while True:\n    pass", _limits(guard, cpu_s=30, timeout_s=1.0))
    assert res.status == "timeout"
    assert res.duration < 5
    _host_healthy()


@pytest.mark.parametrize("guard", GUARDS)
def test_cpu_limit_kills(guard: bool) -> None:
    res = run_python("while True:\n    pass", _limits(guard, cpu_s=1, timeout_s=10.0))
    assert res.status == "killed", (res.returncode, res.stderr_tail)
    assert res.duration < 5


@pytest.mark.parametrize("guard", GUARDS)
def test_fork_bomb_is_contained(guard: bool) -> None:
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    res = run_python(code, _limits(guard, timeout_s=2.0))
    assert res.status in ("timeout", "killed", "error")
    _host_healthy()


def test_fork_is_refused_by_guard() -> None:
    res = run_python("import os\nos.fork()", FAST)
    assert res.status == "error"
    assert "os.fork is not allowed" in res.stderr_tail


@pytest.mark.parametrize("guard", GUARDS)
def test_memory_hog_is_contained(guard: bool) -> None:
    res = run_python("x = bytearray(2 * 1024**3)\nprint(len(x))", _limits(guard, memory_mb=256))
    assert res.status in ("error", "killed")
    assert "MemoryError" in res.stderr_tail or res.status == "killed"
    _host_healthy()


@pytest.mark.parametrize("guard", GUARDS)
def test_write_outside_sandbox_does_not_land(tmp_path: Path, sbx_root: Path, guard: bool) -> None:
    target = tmp_path / "outside" / "escape.txt"
    target.parent.mkdir()
    code = f"open({str(target)!r}, 'w').write('escaped')"
    res = run_python(code, _limits(guard), tmp_root=sbx_root)
    assert res.status == "error"
    assert "PermissionError" in res.stderr_tail or "GuardViolation" in res.stderr_tail
    assert not target.exists()
    assert list(sbx_root.iterdir()) == []


@pytest.mark.parametrize("guard", GUARDS)
def test_huge_file_is_capped(sbx_root: Path, guard: bool) -> None:
    code = "with open('big', 'wb') as f:\n    for _ in range(1000):\n        f.write(b'x' * 1024 * 1024)\n"
    res = run_python(code, _limits(guard, max_file_mb=1), tmp_root=sbx_root)
    assert res.status in ("error", "killed")
    assert "File too large" in res.stderr_tail or res.status == "killed"
    assert list(sbx_root.iterdir()) == []


@pytest.mark.parametrize(
    "guard", [True, pytest.param(False, marks=pytest.mark.skipif("netns" not in isolation(), reason="no netns"))]
)
def test_network_is_unreachable(guard: bool) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    try:
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\ns.sendall(b'leak')\n"
        res = run_python(code, _limits(guard))
        assert res.status == "error"
        with pytest.raises(TimeoutError):
            server.accept()  # nothing ever connected to the host
    finally:
        server.close()


@pytest.mark.skipif("uid" not in isolation().split("+"), reason="no uid drop here")
def test_unreachable_temp_root_fails_loudly(tmp_path: Path) -> None:
    from codelewm.sandbox.runner import SandboxError

    with pytest.raises(SandboxError, match="not traversable"):
        run_python("print(1)", FAST, tmp_root=tmp_path)  # pytest's tmp dirs are root-only
