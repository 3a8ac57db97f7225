"""The hostile corpus (``tests/sandbox/hostile/*.py``) is contained by the strict sandbox, as seen from outside.

Each program tries one family of escapes from issue 16 (network, processes that outlive the run,
writes and reads outside, /proc snooping, signals and ptrace to host processes, privilege gain,
namespaces and mounts, kernel interfaces, resources) and runs twice: with the in-process guard and
without it (the OS layer alone must hold). After every run the harness checks, from the host:

* the TCP, UDP, path and abstract Unix listeners got nothing;
* the world-writable canary dir is unchanged, and no file named with the run's marker exists in
  ``/tmp``, ``/var/tmp``, ``/dev/shm``, the home dir, the project, ``/etc``, ``/usr`` or ``/``;
* no secret (tokens of a world-readable and a root-only file, a file in the home dir, the host
  environment, a decoy's command line; digests of ``/etc/shadow`` and the project's files) appears in
  the program's output;
* a decoy process of the sandbox's own uid, the runner and the runner's parent are alive, untraced;
* no process of the run is left: none with the marker in its command line, no process of the sandbox
  uid in another user namespace (zombies included), no child of the runner; the host can fork;
* the program itself never printed ``ESCAPED`` (its own view of success).

Reproduce: ``.venv/bin/python -m pytest -m sandbox tests/sandbox -q`` (as root, bubblewrap installed).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from codelewm.sandbox.runner import NOBODY_UID, SandboxError, SandboxLimits, isolation, run_python

pytestmark = pytest.mark.sandbox

HOSTILE = Path(__file__).parent / "hostile"
PROGRAMS = sorted(p.stem for p in HOSTILE.glob("*.py") if not p.name.startswith("_"))
PRELUDE_IMPORT = "from _hostile import "
PROJECT = Path(__file__).resolve().parents[2]
TMPFS_MB = 16
LIMITS = SandboxLimits(timeout_s=4.0, cpu_s=2, memory_mb=256, max_file_mb=4, max_procs=32, tmpfs_mb=TMPFS_MB)
# the venv's interpreter may sit where the sandbox uid cannot go (pyenv under /root)
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")
SANDBOX_UID = NOBODY_UID if os.geteuid() == 0 else os.geteuid()


def _strict_or_skip() -> str:
    try:
        return isolation("strict")
    except SandboxError as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the strict sandbox: {e}")
        pytest.skip(str(e))


def _digest(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class Host:
    """Canaries, listeners and a decoy on the host side of the sandbox."""

    canary: Path
    home_canary: Path
    decoy: subprocess.Popen
    tokens: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    listeners: dict[str, socket.socket] = field(default_factory=dict)

    def ctx(self, marker: str) -> dict:
        return {
            "marker": marker,
            "canary": str(self.canary),
            "secret_file": str(self.canary / "secret.txt"),
            "root_secret": str(self.canary / "root-secret.txt"),
            "victim": str(self.canary / "victim.txt"),
            "home": str(Path.home()),
            "home_canary": str(self.home_canary),
            "project": str(PROJECT),
            "tcp_port": self.listeners["tcp"].getsockname()[1],
            "udp_port": self.listeners["udp"].getsockname()[1],
            "unix_sock": str(self.canary / "host.sock"),
            "abstract": self.tokens["abstract"],
            "decoy_pid": self.decoy.pid,
            "runner_pid": os.getpid(),
            "runner_ppid": os.getppid(),
            "tmpfs_bytes": TMPFS_MB * 1024 * 1024,
        }

    def canary_state(self) -> dict[str, tuple[int, str | None]]:
        return {p.name: (p.lstat().st_mode, _digest(p) if p.is_file() else None) for p in self.canary.iterdir()}


def _token() -> str:
    return "tok" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    _strict_or_skip()
    canary = Path(tempfile.mkdtemp(prefix="codelewm-hostile-canary-"))
    canary.chmod(0o777)  # writable by anyone: only the sandbox's mount namespace keeps writes out
    tokens = {k: _token() for k in ("secret", "root_secret", "home", "env", "decoy", "abstract")}
    (canary / "secret.txt").write_text(tokens["secret"])
    (canary / "secret.txt").chmod(0o644)
    (canary / "root-secret.txt").write_text(tokens["root_secret"])
    (canary / "root-secret.txt").chmod(0o600)
    (canary / "victim.txt").write_text("untouched")
    (canary / "victim.txt").chmod(0o666)
    home_canary = Path.home() / f".codelewm-hostile-canary-{uuid.uuid4().hex[:8]}"
    home_canary.write_text(tokens["home"])
    home_canary.chmod(0o600)
    # a decoy of the sandbox's own uid: a same-uid kill or ptrace would succeed without the PID namespace
    user = {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []} if os.geteuid() == 0 else {}
    decoy = subprocess.Popen(
        ["/bin/sh", "-c", f"sleep 3600; echo {tokens['decoy']}"], cwd="/", start_new_session=True, **user
    )
    os.environ["CODELEWM_HOST_SECRET"] = tokens["env"]
    digests = {
        "shadow": _digest("/etc/shadow"),
        "pyproject": _digest(PROJECT / "pyproject.toml"),
        "params": _digest(PROJECT / "params.yaml"),
    }
    h = Host(canary, home_canary, decoy, tokens, {k: v for k, v in digests.items() if v})
    try:
        yield h
    finally:
        os.environ.pop("CODELEWM_HOST_SECRET", None)
        os.killpg(decoy.pid, 9)  # sh and its sleep
        decoy.wait()
        home_canary.unlink(missing_ok=True)
        shutil.rmtree(canary, ignore_errors=True)


@pytest.fixture
def listeners(host: Host) -> Iterator[dict[str, socket.socket]]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    path = host.canary / "host.sock"
    path.unlink(missing_ok=True)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(path))
    path.chmod(0o777)
    unix.listen(8)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + host.tokens["abstract"])
    abstract.listen(8)
    socks = {"tcp": tcp, "udp": udp, "unix": unix, "abstract": abstract}
    for s in socks.values():
        s.setblocking(False)
    host.listeners = socks
    yield socks
    for s in socks.values():
        s.close()
    path.unlink(missing_ok=True)


def _program(name: str, ctx: dict) -> tuple[str, tuple[str, ...] | None]:
    """The program's source with the prelude inlined, and its EXPECT_STATUS if it declares one."""
    src = (HOSTILE / f"{name}.py").read_text()
    prelude = (HOSTILE / "_hostile.py").read_text().replace("CTX: dict = {}", f"CTX: dict = {json.dumps(ctx)}")
    lines = [prelude if ln.startswith(PRELUDE_IMPORT) else ln for ln in src.splitlines()]
    expect = None
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXPECT_STATUS":
            expect = tuple(ast.literal_eval(node.value))
    return "\n".join(lines) + "\n", expect


def _proc_status(pid: str) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(ln.split(":\t", 1) for ln in text.splitlines() if ":\t" in ln)


def _children() -> set[str]:
    me = str(os.getpid())
    return {p for p in os.listdir("/proc") if p.isdigit() and _proc_status(p).get("PPid") == me}


def _leftover_processes(marker: str, decoy_pid: int, children_before: set[str]) -> list[str]:
    """Host processes that belong to the run: marker in the command line, sandbox uid in another user
    namespace (the container; zombies included), or a child of this runner the run added (unreaped)."""
    own_userns = os.readlink("/proc/self/ns/user")
    out = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        if int(pid) in (os.getpid(), decoy_pid):
            continue
        st = _proc_status(pid)
        if not st:
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = ""
        try:
            userns = os.readlink(f"/proc/{pid}/ns/user")
        except OSError:
            userns = own_userns
        uid = int(st.get("Uid", "-1").split()[0])
        if (
            marker in cmdline
            or (uid == SANDBOX_UID and userns != own_userns)
            or (st.get("PPid") == str(os.getpid()) and pid not in children_before)
        ):
            out.append(f"{pid} {st.get('State', '?')} uid={uid} {cmdline[:80]}")
    return out


def _named(marker: str) -> list[str]:
    dirs = ["/tmp", "/var/tmp", "/dev/shm", str(Path.home()), str(PROJECT), "/etc", "/usr", "/", "/home"]
    found = []
    for d in dirs:
        try:
            found += [os.path.join(d, n) for n in os.listdir(d) if marker in n]
        except OSError:
            pass
    return found


def _received(listeners: dict[str, socket.socket]) -> list[str]:
    got = []
    for name, s in listeners.items():
        try:
            if name == "udp":
                got.append(f"udp datagram {s.recv(64)!r}")
            else:
                conn, _ = s.accept()
                conn.close()
                got.append(f"{name} connection")
        except (BlockingIOError, OSError):
            pass
    return got


def _free_mb(path: str) -> float:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2**20


@pytest.mark.parametrize("guard", [True, False], ids=["guard", "no-guard"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_hostile_program_is_contained(name: str, guard: bool, host: Host, listeners: dict) -> None:
    marker = "m" + uuid.uuid4().hex[:16]
    code, expect = _program(name, host.ctx(marker))
    before = host.canary_state()
    free_before = {d: _free_mb(d) for d in ("/", "/tmp")}
    children_before = _children()  # e.g. a multiprocessing resource tracker left by an earlier test
    res = run_python(code, SandboxLimits(**{**LIMITS.__dict__, "guard": guard}))
    leftovers = _leftover_processes(
        marker, host.decoy.pid, children_before
    )  # at once: nothing may linger, not even as a zombie
    output = res.stdout_tail + res.stderr_tail
    problems = []
    if leftovers:
        problems.append(f"processes survived the run: {leftovers}")
    if got := _received(listeners):
        problems.append(f"host listeners reached: {got}")
    if host.canary_state() != before:
        problems.append("the canary dir outside the sandbox changed")
    if named := _named(marker):
        problems.append(f"files left on the host: {named}")
    leaked = [k for k, v in {**host.tokens, **host.digests}.items() if k != "abstract" and v in output]
    if leaked:
        problems.append(f"secrets in the program's output: {leaked}")  # names only, never values
    if host.decoy.poll() is not None:
        problems.append("the decoy process (same uid) was killed")
    decoy = _proc_status(str(host.decoy.pid))
    if decoy.get("TracerPid", "0") != "0" or decoy.get("State", "").startswith(("T", "t")):
        problems.append(f"the decoy was stopped or traced: {decoy.get('State')} tracer={decoy.get('TracerPid')}")
    try:
        os.kill(os.getppid(), 0)
    except ProcessLookupError:
        problems.append("the runner's parent is gone")
    for d, mb in free_before.items():
        if mb - _free_mb(d) > 256:
            problems.append(f"{d} lost {mb - _free_mb(d):.0f} MB of free space")
    if "ESCAPED" in output:
        problems.append("the program reports success: " + output[output.index("ESCAPED") :][:200])
    if expect is not None and res.status not in expect:
        problems.append(f"status {res.status} not in {expect}")
    assert subprocess.run(["true"], timeout=10).returncode == 0, "the host can no longer fork"
    assert not problems, f"{name} (guard={guard}, {res.isolation}, {res.status}): " + "; ".join(problems)
    assert res.isolation.startswith("bwrap")


def test_corpus_covers_issue_16() -> None:
    """Every escape family measured in issue 16 (and in the older tests) has a program."""
    needed = {
        "net_tcp_host",
        "net_udp_host",
        "net_unix_path",
        "net_unix_abstract",
        "fork_bomb",
        "lingering_children",
        "posixsubprocess_escape",
        "write_canary",
        "write_dir_fd",
        "write_realpath_patch",
        "guard_disable",
        "read_secrets",
        "read_shadow",
        "read_project",
        "write_system",
        "proc_snoop",
        "kill_host",
        "ptrace_host",
        "memory_hog",
        "disk_fill",
        "fifo_shm",
        "leave_tmp",
        "setuid_root",
    }
    assert needed <= set(PROGRAMS), needed - set(PROGRAMS)


def test_programs_really_attempt_their_escapes(host: Host, listeners: dict) -> None:
    """Without any sandbox layer the corpus does reach its goals (so a pass above is not vacuous).

    Runs two programs unsandboxed in a throwaway subprocess as the sandbox uid: the write and the
    connection land. (Only harmless goals: nothing here kills or fills anything.)
    """
    if SYSTEM_PYTHON is None:
        pytest.skip("no system python3 the sandbox uid can run")
    marker = "m" + uuid.uuid4().hex[:16]
    for name in ("write_canary", "net_tcp_host"):
        code, _ = _program(name, host.ctx(marker))
        user = {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []} if os.geteuid() == 0 else {}
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-I", "-c", code], capture_output=True, text=True, timeout=30, cwd="/", **user
        )
        assert "ESCAPED" in proc.stdout, (name, proc.stdout[-500:], proc.stderr[-500:])
    assert any(marker in n for n in os.listdir(host.canary))
    assert _received(listeners)
    # restore the canary for the other tests
    for n in os.listdir(host.canary):
        if marker in n:
            p = host.canary / n
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    (host.canary / "victim.txt").write_text("untouched")
    (host.canary / "victim.txt").chmod(0o666)
    if not (host.canary / "secret.txt").exists():
        (host.canary / "secret.txt").write_text(host.tokens["secret"])
        (host.canary / "secret.txt").chmod(0o644)
