"""Run untrusted Python (a candidate patch + its tests) in a sandbox that holds from the OS up.

Strong mode (the default, ``policy="strict"``): bubblewrap
-----------------------------------------------------------
Every run is a fresh ``bwrap`` container (Debian package ``bubblewrap``; ``make bootstrap`` installs
it when run as root). ``bwrap`` runs as an unprivileged uid: the caller's, or ``nobody`` when the
caller is root (dropped in the forked child before exec), so it needs unprivileged user namespaces.
Flags and what each one buys:

* ``--unshare-all --unshare-user --disable-userns``: new user, mount, PID, network, IPC, UTS and
  cgroup namespaces, and no nested user namespace inside. The network namespace holds only a
  loopback of its own: no host listener (TCP, UDP, abstract or path Unix socket) is reachable. In the
  PID namespace the host's processes are invisible and cannot be signalled or traced, and when its
  init exits the kernel kills everything left in it (nothing outlives a run).
* the mount namespace is built from nothing: a tmpfs root (``--remount-ro /`` last) holding read-only binds of
  ``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links or dirs), ``/etc/ld.so.cache``, and the
  Python install (interpreter, its standard library, ``libpython``); ``--proc /proc`` (a fresh procfs
  of the new PID namespace), ``--dev /dev`` then ``--remount-ro /dev`` (null, zero, urandom, ...; no
  writable ``/dev/shm``), and ``--size N --tmpfs /tmp``: a private, size-capped tmpfs that is the only
  writable place (the working directory and ``HOME``; the program is copied in as ``/tmp/main.py``).
  The project, ``/root``, ``/home``, ``/etc`` (shadow, passwd...), the host's ``/tmp`` and
  ``/dev/shm`` do not exist in there; the tmpfs vanishes with the namespace (no leftovers).
* ``--cap-drop ALL``, and bwrap always sets ``PR_SET_NO_NEW_PRIVS`` (no setuid gain, ever);
  ``--new-session`` (no terminal injection), ``--die-with-parent`` (the container dies with the runner).
* ``--as-pid-1``: the bootstrap (:mod:`codelewm.sandbox.child`) is the namespace's init and forks the
  candidate off; bwrap then reaps that init itself. With bwrap's own init, the init was orphaned to
  the host's PID 1 and lingered as a zombie (seconds on this machine; issue 16). On timeout the runner
  SIGKILLs the init through a pidfd (its pid from ``--info-fd``): the kernel kills the rest.
* ``--seccomp FD``: a deny-list BPF filter from :mod:`codelewm.sandbox.seccomp` (no sockets but
  AF_UNIX, no ptrace, mount, unshare/setns/namespace clones, keyctl, bpf, perf_event_open, io_uring,
  ...) on x86_64 and aarch64; the isolation then reads ``bwrap+seccomp``.

When the interpreter lives where the sandbox uid cannot read it (e.g. pyenv under a root-only
``/root``), the runner links the files the interpreter needs (hard links, copies across file systems)
into a root-owned, read-only tree under the temp dir once per interpreter, and binds that tree at the
original paths. A Python install inside the project tree would thereby be visible (not the rest).

Weak modes (``policy="weak"`` only)
-----------------------------------
When bwrap is missing or cannot create its namespaces, ``strict`` refuses to run anything
(:class:`SandboxError`, with how to fix it). ``weak`` falls back to the strongest of the older layers,
each of them known to let hostile programs out (see issue 16): ``netns+pidns+uid`` (root with
util-linux ``unshare``/``setpriv``: network and PID namespaces, uid nobody, but the host file system is
readable and ``/tmp`` writable), ``uid`` (uid nobody only), ``userns+netns+pidns`` (non-root), and
``pgroup`` (own process group only).

Always applied: ``resource.setrlimit`` in the child before exec (CPU seconds, address space, file
size, process count, no core dumps), the wall-clock kill, a minimal environment,
``python -I -S -B``, and by default the audit-hook guard of :mod:`codelewm.sandbox.child` (defence in
depth only: a program can get around it, the OS layers above are the containment). A run whose
interpreter never started (the sandbox itself failed, e.g. out of processes) is retried twice and then
raises :class:`SandboxError`: it is never labelled as a failing candidate.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from codelewm.sandbox import child, seccomp

STATUSES = ("passed", "failed", "timeout", "error", "killed")
POLICIES = ("strict", "weak")
NOBODY_UID = 65534
NOBODY_GID = 65534
_TAIL_BYTES = 2000
_CHILD_SOURCE = Path(child.__file__).read_text(encoding="utf-8")
_BOOT_IN_SANDBOX = "/.sandbox/boot.py"
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_START_RETRIES = (0.2, 1.0)  # seconds to wait before re-running a sandbox that did not start
FIX_HINT = (
    "install bubblewrap (`apt-get install bubblewrap`; `make bootstrap` does it when run as root) and "
    "allow unprivileged user namespaces (Debian: sysctl kernel.unprivileged_userns_clone=1, "
    "user.max_user_namespaces > 0; Ubuntu 24.04+: the AppArmor profile shipped with bubblewrap), or "
    "accept a weaker sandbox explicitly with `downstream.sandbox: weak` in params.yaml"
)


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 5.0  # wall clock; the whole container (or process group) is killed after it
    cpu_s: int = 5  # RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL one second later
    memory_mb: int = 512  # RLIMIT_AS (virtual address space)
    max_file_mb: int = 8  # RLIMIT_FSIZE: largest file the child may write (stdout/stderr included)
    max_procs: int = 64  # RLIMIT_NPROC (per uid; enforced for unprivileged uids only)
    guard: bool = True  # in-process audit-hook guard (defence in depth only)
    tmpfs_mb: int = 64  # size of the private tmpfs (/tmp = working dir): everything a bwrap run may write
    policy: str = "strict"  # strict: bubblewrap or SandboxError; weak: fall back to weaker layers

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"sandbox policy must be strict|weak, got {self.policy!r}")


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


class _NotStarted(Exception):
    """The interpreter inside the sandbox never reached the candidate (carries the reason)."""


def _python() -> str:
    # the base interpreter: with -I -S the venv adds nothing, and the real path is what gets exec'd
    return os.path.realpath(sys.executable)


# ----------------------------------------------------------------------------------------------
# bubblewrap: what the interpreter needs inside, and the command line


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _interpreter_paths() -> list[str]:
    """Real paths the interpreter needs (executable, stdlib, lib-dynload, libpython) outside /usr."""
    exe = _python()
    stdlib = os.path.realpath(os.path.dirname(os.__file__))
    paths = [exe, stdlib]
    paths += [os.path.realpath(p) for p in sys.path if p.endswith("lib-dynload") and os.path.isdir(p)]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        soname = sysconfig.get_config_var("INSTSONAME") or ""
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        for d in (libdir, os.path.join(os.path.dirname(os.path.dirname(exe)), "lib")):
            if soname and os.path.exists(os.path.join(d, soname)):
                paths.append(os.path.join(d, soname))  # the name the loader looks up (RUNPATH)
    system = [os.path.realpath(d) for d in _SYSTEM_DIRS if os.path.isdir(d)]
    out: list[str] = []
    for p in sorted(set(paths), key=len):  # parents first, so children already covered are dropped
        if not _under(os.path.realpath(p), system) and not _under(p, out):
            out.append(p)
    return out


def _reachable_by_others(path: str) -> bool:
    """True if a uid that is neither owner nor group can reach (and read) ``path``."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    need = 0o005 if stat.S_ISDIR(st.st_mode) else 0o004
    if st.st_mode & need != need:
        return False
    for parent in Path(path).parents:
        try:
            if not os.stat(parent).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _mirror(paths: list[str]) -> str:
    """A root-owned read-only tree under the temp dir holding ``paths`` (hard links), built once per interpreter."""
    sig = [(p, os.stat(p).st_mtime_ns, os.stat(p).st_size, os.stat(p).st_ino) for p in paths]
    key = hashlib.sha256(json.dumps(sig).encode()).hexdigest()[:16]
    final = Path(tempfile.gettempdir()) / f"codelewm-sandbox-python-{key}"
    if final.is_dir() and not final.is_symlink() and not all(os.path.lexists(str(final) + p) for p in paths):
        shutil.rmtree(final, ignore_errors=True)  # pruned by a temp cleaner: build it again
    if not final.exists():
        build = tempfile.mkdtemp(prefix=final.name + ".build-", dir=final.parent)
        try:
            for p in paths:
                dest = build + p
                os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
                if os.path.isdir(p):
                    ignore = shutil.ignore_patterns("site-packages")
                    shutil.copytree(p, dest, symlinks=True, ignore=ignore, copy_function=_link_or_copy)
                else:
                    _link_or_copy(p, dest)
            for dirpath, _, _ in os.walk(build):
                os.chmod(dirpath, 0o755)
            os.rename(build, final)
        except OSError:
            shutil.rmtree(build, ignore_errors=True)
            if not final.exists():
                raise
    st = os.lstat(final)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise SandboxError(f"interpreter mirror {final} is not a directory owned by us and closed to others")
    return str(final)


@functools.lru_cache(maxsize=1)
def _interpreter_binds() -> tuple[str, ...]:
    paths = _interpreter_paths()
    args: list[str] = []
    mirror = ""
    if os.geteuid() == 0 and not all(_reachable_by_others(p) for p in paths):
        mirror = _mirror(paths)
    for p in paths:
        args += ["--ro-bind", mirror + p, p]
        if not mirror and os.path.isdir(os.path.join(p, "site-packages")):
            # the base interpreter's packages are never imported (-S): keep them out of sight
            args += ["--tmpfs", os.path.join(p, "site-packages"), "--remount-ro", os.path.join(p, "site-packages")]
    return tuple(args)


def _system_binds() -> list[str]:
    args: list[str] = []
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    return [*args, "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]


def _bwrap_kind() -> str:
    return "bwrap+seccomp" if seccomp.filter_bytes() is not None else "bwrap"


def _bwrap_argv(limits: SandboxLimits, fds: dict[str, int]) -> list[str]:
    argv = [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        *_system_binds(),
        *_interpreter_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--remount-ro",
        "/dev",
        "--size",
        str(limits.tmpfs_mb * 1024 * 1024),
        "--tmpfs",
        "/tmp",
        "--file",
        str(fds["main"]),
        "/tmp/main.py",
        "--ro-bind-data",
        str(fds["boot"]),
        _BOOT_IN_SANDBOX,
        "--remount-ro",
        "/",  # the root tmpfs holding the mount points: bwrap leaves it writable (and unsized) otherwise
        "--chdir",
        "/tmp",
        "--info-fd",
        str(fds["info"]),
    ]
    if "seccomp" in fds:
        argv += ["--seccomp", str(fds["seccomp"])]
    return [*argv, "--", _python(), "-I", "-S", "-B", _BOOT_IN_SANDBOX, "main.py"]


# ----------------------------------------------------------------------------------------------
# weak layers (policy="weak" only)


def _prefix(kind: str) -> list[str]:
    uid = [f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}", "--clear-groups", "--no-new-privs", "--"]
    ns = ["--net", "--pid", "--fork", "--kill-child", "--"]
    return {
        "netns+pidns+uid": ["unshare", *ns, "setpriv", *uid],
        "uid": ["setpriv", *uid],
        "userns+netns+pidns": ["unshare", "--user", *ns],
        "pgroup": [],
    }[kind]


def _weak_candidates() -> list[str]:
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


# ----------------------------------------------------------------------------------------------
# probing and policy


def _probe(kind: str) -> str:
    """'' if ``kind`` runs a trivial program correctly here, else why not."""
    try:
        res = _run(kind, "print('sandbox-probe-ok')", SandboxLimits(timeout_s=30.0, cpu_s=10, policy="weak"), None)
    except (OSError, SandboxError, _NotStarted) as e:
        return str(e) or type(e).__name__
    if res.status == "passed" and "sandbox-probe-ok" in res.stdout_tail:
        return ""
    return f"probe ended {res.status} (exit {res.returncode}): {res.stderr_tail.strip()[-500:]}"


@functools.lru_cache(maxsize=1)
def strong_isolation() -> tuple[str, str]:
    """(kind, '') when the bubblewrap sandbox works here, else ('', the reason)."""
    if shutil.which("bwrap") is None:
        return "", "bwrap (bubblewrap) is not installed"
    kind = _bwrap_kind()
    why = _probe(kind)
    return (kind, "") if not why else ("", f"bwrap cannot start a sandbox here: {why}")


@functools.lru_cache(maxsize=1)
def _weak_isolation() -> str:
    for kind in _weak_candidates():
        if kind == "pgroup" or not _probe(kind):
            return kind
    return "pgroup"


def isolation(policy: str = "strict") -> str:
    """The isolation ``run_python`` uses under ``policy`` (probed once per process).

    ``strict`` returns ``bwrap+seccomp`` (or ``bwrap`` on an architecture without a filter) or raises
    :class:`SandboxError`; ``weak`` returns the strongest layer that works, bwrap first.
    """
    if policy not in POLICIES:
        raise ValueError(f"sandbox policy must be strict|weak, got {policy!r}")
    kind, why = strong_isolation()
    if kind:
        return kind
    if policy == "strict":
        raise SandboxError(f"refusing to run untrusted code without the strong sandbox: {why}. To fix: {FIX_HINT}")
    return _weak_isolation()


# ----------------------------------------------------------------------------------------------
# one run


def _preexec(limits: SandboxLimits, drop_uid: bool) -> None:
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
    if drop_uid:  # bwrap as root: run it as nobody, so the container's processes are nobody on the host
        os.setgroups([])
        os.setgid(NOBODY_GID)
        os.setuid(NOBODY_UID)


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


def _read_nonblocking(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def _kill_container(proc: subprocess.Popen, info_fd: int) -> None:
    """SIGKILL the container's init (its PID namespace dies with it) so that bwrap reaps it, then bwrap."""
    try:
        info = json.loads(_read_nonblocking(info_fd).decode() or "{}")
        pid = int(info.get("child-pid", 0))
    except (ValueError, OSError):
        pid = 0
    if pid > 0:
        with contextlib.suppress(OSError):
            pidfd = os.pidfd_open(pid)  # pins the pid: no reuse race between the check and the kill
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                if f"\nPPid:\t{proc.pid}\n" in status:  # still bwrap's child, i.e. the container's init
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            finally:
                os.close(pidfd)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


class _Fds:
    """Descriptors of one run, each closed exactly once (a double close could hit a reused number)."""

    def __init__(self) -> None:
        self.open: set[int] = set()

    def add(self, fd: int) -> int:
        self.open.add(fd)
        return fd

    def pipe(self) -> tuple[int, int]:
        r, w = os.pipe()
        return self.add(r), self.add(w)

    def close(self, fd: int) -> None:
        if fd in self.open:
            self.open.discard(fd)
            os.close(fd)

    def close_all(self) -> None:
        for fd in list(self.open):
            self.close(fd)


def _run(kind: str, code: str, limits: SandboxLimits, tmp_root: Path | None) -> SandboxResult:
    base = Path(tempfile.mkdtemp(prefix="codelewm-sbx-", dir=tmp_root))
    fds = _Fds()
    try:
        ready_r, ready_w = fds.pipe()
        info_r, info_w = fds.pipe()
        boot_args = ["--ready-fd", str(ready_w)] + (["--guard"] if limits.guard else [])
        out_path, err_path = base / "stdout", base / "stderr"
        child_fds = [ready_w]
        bwrap = kind.startswith("bwrap")
        if bwrap:
            (base / "main.py").write_text(code, encoding="utf-8")
            (base / "boot.py").write_text(_CHILD_SOURCE, encoding="utf-8")
            named = {
                "main": fds.add(os.open(base / "main.py", os.O_RDONLY)),
                "boot": fds.add(os.open(base / "boot.py", os.O_RDONLY)),
                "info": info_w,
            }
            filt = seccomp.filter_bytes() if kind.endswith("+seccomp") else None
            if filt is not None:
                sec_r, sec_w = fds.pipe()
                os.write(sec_w, filt)  # well under a pipe buffer
                fds.close(sec_w)
                named["seccomp"] = sec_r
            child_fds += named.values()
            argv = [*_bwrap_argv(limits, named), *boot_args]
            cwd, home, drop_uid = "/", "/tmp", os.geteuid() == 0
        else:
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
            argv = [*_prefix(kind), _python(), "-I", "-S", "-B", str(boot), "main.py", *boot_args]
            cwd, home, drop_uid = str(work), str(work), False
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "PYTHONHASHSEED": "0"}
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=tuple(child_fds),
                preexec_fn=functools.partial(_preexec, limits, drop_uid),  # noqa: PLW1509 - single-threaded callers
                close_fds=True,
            )
        for fd in child_fds:
            fds.close(fd)  # only the child holds them now: a byte on ready_r = the candidate was reached
        timed_out = False
        try:
            rc = proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            if bwrap:
                _kill_container(proc, info_r)
            _kill_group(proc.pid)
            rc = proc.wait()
        _kill_group(proc.pid)  # stragglers left in the group (weak modes: e.g. background children)
        duration = time.monotonic() - start
        started = _read_nonblocking(ready_r) == b"1"
        if not started and not timed_out:
            raise _NotStarted(f"{kind} sandbox did not start (exit {rc}): {_tail(err_path).strip()[-500:]}")
        return SandboxResult(
            status=_status(rc, timed_out),
            returncode=rc,
            duration=duration,
            stdout_tail=_tail(out_path),
            stderr_tail=_tail(err_path),
            isolation=kind,
        )
    finally:
        fds.close_all()
        shutil.rmtree(base, ignore_errors=True)


def run_python(code: str, limits: SandboxLimits = SandboxLimits(), tmp_root: Path | None = None) -> SandboxResult:
    """Run ``code`` as ``__main__`` in the sandbox and classify the outcome.

    ``passed`` = ran to completion; ``failed`` = an AssertionError escaped (a test failed);
    ``error`` = any other exception, or the program exited by itself; ``killed`` = a signal ended it
    (CPU or file-size limit, memory); ``timeout`` = the wall-clock limit was hit and the container killed.
    Raises :class:`SandboxError` when ``limits.policy`` is ``strict`` and bubblewrap cannot run here, or
    when the sandbox itself fails to start three times. ``tmp_root`` holds the run's captured
    stdout/stderr (and, in weak modes, its working dir). Not thread-safe (uses ``preexec_fn``):
    parallelize with processes.
    """
    kind = isolation(limits.policy)
    for delay in (*_START_RETRIES, None):
        try:
            return _run(kind, code, limits, tmp_root)
        except (_NotStarted, BlockingIOError) as e:  # EAGAIN: e.g. the uid's process limit, briefly
            if delay is None:
                raise SandboxError(str(e)) from e
            time.sleep(delay)
    raise AssertionError("unreachable")
