"""Sandbox runner: outcomes are classified, limits hold, the strict policy refuses weak isolation.

Resource and process cases run twice: with the in-process guard (default) and with the guard off,
which shows the OS layer (bubblewrap) alone contains them. The wider hostile corpus is in
``test_hostile.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from codelewm.sandbox import runner
from codelewm.sandbox.runner import NOBODY_UID, SandboxError, SandboxLimits, isolation, run_python

# Starts sandboxed (uid nobody) processes: `make test` runs these serially, because concurrent
# sandboxes share nobody's process limit and the containment checks look for nobody processes host-wide.
pytestmark = pytest.mark.sandbox

FAST = SandboxLimits(timeout_s=3.0, cpu_s=1, memory_mb=256, max_file_mb=1, max_procs=32)
GUARDS = [True, False]


@pytest.fixture(autouse=True, scope="module")
def _strict_available() -> None:
    try:
        isolation("strict")
    except SandboxError as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the strict sandbox: {e}")
        pytest.skip(str(e))


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


def _container_procs() -> list[str]:
    """Processes of the sandbox uid in another user namespace (bwrap containers), zombies included."""
    own = os.readlink("/proc/self/ns/user")
    found = []
    for pid in _nobody_procs():
        try:
            if os.readlink(f"/proc/{pid}/ns/user") != own:
                found.append(pid)
        except OSError:
            pass
    return found


def _host_healthy() -> None:
    assert subprocess.run(["true"], timeout=10).returncode == 0  # host can still fork/exec
    assert _container_procs() == [], "sandboxed processes outlived the run"  # at once: no grace period


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
    assert "['HOME', 'LANG', 'PATH', 'PWD', 'PYTHONHASHSEED']" in res.stdout_tail  # PWD: set by bwrap
    assert "1 1" in res.stdout_tail
    assert list(sbx_root.iterdir()) == []  # the fresh temp dir is gone


def test_strict_isolation_is_bubblewrap_with_seccomp() -> None:
    kind = isolation("strict")
    assert kind.startswith("bwrap")
    if runner.seccomp.filter_bytes() is not None:
        assert kind == "bwrap+seccomp"
    res = run_python("print(open('/proc/self/status').read())", FAST)
    status = dict(ln.split(":\t", 1) for ln in res.stdout_tail.splitlines() if ":\t" in ln)
    assert status["NoNewPrivs"] == "1"
    assert status["CapEff"] == "0000000000000000"
    assert status["Uid"].split()[0] == str(NOBODY_UID if os.geteuid() == 0 else os.geteuid())
    if kind == "bwrap+seccomp":
        assert status["Seccomp"] == "2"


def test_stdlib_works_inside() -> None:
    """What HumanEval programs import, and the interpreter the runner itself uses."""
    mods = "math hashlib re collections itertools functools heapq fractions decimal datetime string json random"
    code = f"import sys\nimport {', '.join(mods.split())}\nprint(sys.version)\nprint(hashlib.sha256(b'x').hexdigest())"
    res = run_python(code, FAST)
    assert res.status == "passed", res.stderr_tail
    import sys

    assert sys.version in res.stdout_tail


def test_only_tmp_is_writable_and_capped() -> None:
    code = (
        "import os\n"
        "for d in ('/', '/usr', '/root', '/etc', '/dev', '/dev/shm', '/.sandbox'):\n"
        "    try:\n"
        "        open(os.path.join(d, 'w'), 'w').write('x')\n"
        "        print('WROTE', d)\n"
        "    except OSError:\n"
        "        pass\n"
        "n = 0\n"
        "try:\n"
        "    for i in range(100):\n"
        "        open(f'/tmp/f{i}', 'wb').write(b'x' * 2**20)\n"
        "        n += 1\n"
        "except OSError:\n"
        "    pass\n"
        "print('MB', n)\n"
    )
    res = run_python(code, SandboxLimits(**{**FAST.__dict__, "guard": False, "max_file_mb": 2, "tmpfs_mb": 8}))
    assert "WROTE" not in res.stdout_tail, res.stdout_tail
    assert int(res.stdout_tail.split("MB")[1]) <= 8  # the tmpfs size, not the host's disk


def test_strict_refuses_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = runner.shutil.which
    monkeypatch.setattr(runner.shutil, "which", lambda b, *a, **k: None if b == "bwrap" else real_which(b, *a, **k))
    runner.strong_isolation.cache_clear()
    try:
        with pytest.raises(SandboxError, match="refusing to run untrusted code.*bubblewrap.*sandbox: weak"):
            run_python("print(1)", FAST)
        weak = isolation("weak")
        assert not weak.startswith("bwrap")
        res = run_python("print(1)", SandboxLimits(**{**FAST.__dict__, "policy": "weak"}))
        assert res.status == "passed" and res.isolation == weak
    finally:
        runner.strong_isolation.cache_clear()


def test_a_sandbox_that_does_not_start_is_an_error_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # bwrap itself fails (exit 1, the same code as a failed assertion): never a "failed" label
    isolation("strict")  # probed (and cached) before the sabotage
    monkeypatch.setattr(runner, "_interpreter_binds", lambda: ("--ro-bind", "/nonexistent-codelewm", "/x"))
    monkeypatch.setattr(runner, "_START_RETRIES", (0.0,))
    with pytest.raises(SandboxError, match="did not start"):
        run_python("assert False", FAST)


def test_invalid_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="strict|weak"):
        SandboxLimits(policy="lax")
    with pytest.raises(ValueError, match="strict|weak"):
        isolation("lax")


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
    # the host's /tmp does not exist in the container (its /tmp is a private tmpfs)
    assert any(e in res.stderr_tail for e in ("FileNotFoundError", "PermissionError", "GuardViolation"))
    assert not target.exists()
    assert list(sbx_root.iterdir()) == []


@pytest.mark.parametrize("guard", GUARDS)
def test_huge_file_is_capped(sbx_root: Path, guard: bool) -> None:
    code = "with open('big', 'wb') as f:\n    for _ in range(1000):\n        f.write(b'x' * 1024 * 1024)\n"
    res = run_python(code, _limits(guard, max_file_mb=1), tmp_root=sbx_root)
    assert res.status in ("error", "killed")
    assert "File too large" in res.stderr_tail or res.status == "killed"
    assert list(sbx_root.iterdir()) == []


@pytest.mark.parametrize("guard", GUARDS)
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


def test_bwrap_needs_no_traversable_temp_root(tmp_path: Path) -> None:
    # the program travels into the container by file descriptor: a root-only tmp_root is fine
    assert run_python("print(1)", FAST, tmp_root=tmp_path).status == "passed"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="weak uid layer needs root + setpriv")
def test_weak_uid_layer_needs_a_traversable_temp_root(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="not traversable"):
        runner._run("uid", "print(1)", FAST, tmp_path)  # pytest's tmp dirs are root-only
