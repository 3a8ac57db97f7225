"""Run untrusted Python (a candidate patch + its tests) in a contained subprocess.

Layers, strongest available first (probed once per process, reported as ``isolation``):

* ``netns+pidns+uid`` (running as root with util-linux ``unshare`` and ``setpriv``): the child runs
  in fresh network and PID namespaces (no interfaces but a down loopback: no network at all; when
  the namespace's init dies the kernel kills every process in it, so nothing outlives the run), as
  the unprivileged ``nobody`` uid (it cannot write anything root owns; RLIMIT_NPROC applies, which
  it would not to root).
* ``uid`` (root, but namespaces not permitted): as above without namespaces; network is then
  blocked only by the in-process guard.
* ``userns+netns+pidns`` (non-root, unprivileged user namespaces allowed).
* ``pgroup`` (nothing else available): own session/process group only.

Always applied: ``resource.setrlimit`` in the child before exec (CPU seconds, address space, file
size, process count, no core dumps), a new session whose whole process group is SIGKILLed on the
wall-clock timeout and after every run, a fresh temporary working directory removed afterwards, a
minimal environment, ``python -I -S -B`` (isolated: no user site, no PYTHON* env, no site-packages,
no bytecode writes), and by default the audit-hook guard of :mod:`codelewm.sandbox.child`.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from codelewm.sandbox import child

STATUSES = ("passed", "failed", "timeout", "error", "killed")
NOBODY_UID = 65534
NOBODY_GID = 65534
_TAIL_BYTES = 2000
_CHILD_SOURCE = Path(child.__file__).read_text(encoding="utf-8")


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 5.0  # wall clock; the whole process group is killed after it
    cpu_s: int = 5  # RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL one second later
    memory_mb: int = 512  # RLIMIT_AS (virtual address space)
    max_file_mb: int = 8  # RLIMIT_FSIZE: largest file the child may write (stdout/stderr included)
    max_procs: int = 64  # RLIMIT_NPROC (per uid; enforced for unprivileged uids only)
    guard: bool = True  # in-process audit-hook guard (network, processes, writes outside the dir)


@dataclass(frozen=True)
class SandboxResult:
    status: str  # passed | failed | timeout | error | killed
    returncode: int  # negative = killed by that signal
    duration: float  # seconds, wall clock
    stdout_tail: str
    stderr_tail: str
    isolation: str  # which OS layer was active (see module docstring)


class SandboxError(RuntimeError):
    """The sandbox itself could not run (not a property of the candidate)."""


def _python() -> str:
    # the base interpreter: with -I -S the venv adds nothing, and the real path is what gets exec'd
    return os.path.realpath(sys.executable)


def _prefix(kind: str) -> list[str]:
    uid = [f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}", "--clear-groups", "--"]
    ns = ["--net", "--pid", "--fork", "--kill-child", "--"]
    return {
        "netns+pidns+uid": ["unshare", *ns, "setpriv", *uid],
        "uid": ["setpriv", *uid],
        "userns+netns+pidns": ["unshare", "--user", *ns],
        "pgroup": [],
    }[kind]


def _candidates() -> list[str]:
    have = {b: shutil.which(b) is not None for b in ("unshare", "setpriv")}
    kinds = []
    if os.geteuid() == 0:
        if have["unshare"] and have["setpriv"]:
            kinds.append("netns+pidns+uid")
        if have["setpriv"]:
            kinds.append("uid")
    elif have["unshare"]:
        kinds.append("userns+netns+pidns")
    kinds.append("pgroup")
    return kinds


@functools.lru_cache(maxsize=1)
def isolation() -> str:
    """The strongest OS isolation that actually works here (probed by running a tiny child once)."""
    for kind in _candidates():
        if kind == "pgroup":
            return kind
        try:
            res = _run(kind, "print('sandbox-probe-ok')", SandboxLimits(timeout_s=20.0, cpu_s=10), None)
        except (OSError, SandboxError):
            continue
        if res.status == "passed" and "sandbox-probe-ok" in res.stdout_tail:
            return kind
    return "pgroup"


def _preexec(limits: SandboxLimits) -> None:
    # runs in the forked child before exec: only async-signal-safe-ish work, no allocation-heavy code
    os.setsid()  # own session and process group: killpg reaches every descendant that stays in it
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.max_file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_procs, limits.max_procs))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - _TAIL_BYTES))
        return f.read().decode("utf-8", "replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # group already gone


def _check_traversable(path: Path) -> None:
    # the unprivileged child must be able to reach its work dir through every ancestor
    for p in (path, *path.parents):
        if not os.stat(p).st_mode & 0o001:
            raise SandboxError(f"sandbox temp root {path} is not traversable by the sandbox uid (see {p})")


def _status(returncode: int, timed_out: bool) -> str:
    if timed_out:
        return "timeout"
    if returncode == child.EXIT_OK:
        return "passed"
    if returncode == child.EXIT_ASSERT:
        return "failed"
    if returncode < 0 or returncode >= 128:  # signal (directly, or re-raised by a wrapper as 128+n)
        return "killed"
    return "error"


def _run(kind: str, code: str, limits: SandboxLimits, tmp_root: Path | None) -> SandboxResult:
    base = Path(tempfile.mkdtemp(prefix="codelewm-sbx-", dir=tmp_root))
    try:
        work = base / "work"
        work.mkdir()
        (work / "main.py").write_text(code, encoding="utf-8")
        boot = base / "boot.py"
        boot.write_text(_CHILD_SOURCE, encoding="utf-8")
        if "uid" in kind.split("+"):
            _check_traversable(base.parent)
            # the dropped uid may traverse base (not list it) and owns only the work dir
            os.chmod(base, 0o711)
            os.chmod(boot, 0o644)
            os.chown(work, NOBODY_UID, NOBODY_GID)
            os.chown(work / "main.py", NOBODY_UID, NOBODY_GID)
        argv = [*_prefix(kind), _python(), "-I", "-S", "-B", str(boot), "main.py"]
        if limits.guard:
            argv.append("--guard")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work), "PYTHONHASHSEED": "0"}
        out_path, err_path = base / "stdout", base / "stderr"
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                argv,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=functools.partial(_preexec, limits),  # noqa: PLW1509 - single-threaded callers
                close_fds=True,
            )
            timed_out = False
            try:
                rc = proc.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid)
                rc = proc.wait()
            _kill_group(proc.pid)  # stragglers left in the group (e.g. background children)
        duration = time.monotonic() - start
        return SandboxResult(
            status=_status(rc, timed_out),
            returncode=rc,
            duration=duration,
            stdout_tail=_tail(out_path),
            stderr_tail=_tail(err_path),
            isolation=kind,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_python(code: str, limits: SandboxLimits = SandboxLimits(), tmp_root: Path | None = None) -> SandboxResult:
    """Run ``code`` as ``__main__`` in the sandbox and classify the outcome.

    ``passed`` = ran to completion; ``failed`` = an AssertionError escaped (a test failed);
    ``error`` = any other exception, or the program exited by itself; ``killed`` = a signal ended it
    (CPU or file-size limit, memory); ``timeout`` = the wall-clock limit was hit and the group killed.
    Not thread-safe to call from several threads (uses ``preexec_fn``): parallelize with processes.
    """
    return _run(isolation(), code, limits, tmp_root)
