"""Bootstrap run *inside* the sandbox child: optional in-process guard, then the candidate program.

This file is stdlib-only: the runner copies its text next to the candidate and runs it with
``python -I -S -B boot.py main.py [--ready-fd N] [--guard]``. It is never imported by the host for its
side effects. ``--ready-fd``: one byte is written there (and the fd closed) before the candidate runs,
so the runner can tell "the sandbox never started" from "the candidate failed".

The guard is a ``sys.addaudithook`` policy (audit hooks cannot be removed once installed). It blocks
sockets, process creation (fork/exec/spawn/subprocess/system), ctypes (the usual way around audit
hooks), signals to other processes, and any write, delete, rename or permission change outside the
sandbox directory. It is defence in depth only: the containment is the runner's OS layer
(bubblewrap). Known ways around the guard, all contained by that layer and exercised by the hostile
corpus in ``tests/sandbox/hostile``: ``os.open(..., dir_fd=...)`` (the audit event carries no dir_fd),
``_posixsubprocess.fork_exec`` (no audit event), native code. Its policy is captured in the hook's
closure at install time, so rebinding this module's globals (``_BLOCKED_EVENTS``, ``os.path.realpath``)
no longer switches it off.

Exit codes read by the runner: 0 = ran to completion, 1 = AssertionError (a test failed),
2 = any other exception (crash, syntax error, MemoryError, guard violation), 3 = the program called
``sys.exit``/``exit`` itself (not a valid way to pass).
"""

from __future__ import annotations

import os
import sys
import traceback

EXIT_OK, EXIT_ASSERT, EXIT_EXCEPTION, EXIT_SELF_EXIT = 0, 1, 2, 3

_BLOCKED_EVENTS = frozenset(
    {
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.sendto",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "subprocess.Popen",
        "pty.spawn",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.cdata",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
    }
)

# event -> indices of path arguments that must stay inside the sandbox directory
_PATH_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.mkdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.symlink": (0, 1),
    "os.link": (0, 1),
    "os.truncate": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
}

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class GuardViolation(PermissionError):
    """Raised by the audit hook when sandboxed code attempts a forbidden operation."""


def _install_guard(root: str) -> None:
    # everything the hook uses is bound here: the candidate can rebind module globals, not closure cells
    realpath, join, fsdecode, fspath, sep = os.path.realpath, os.path.join, os.fsdecode, os.fspath, os.sep
    blocked, path_events, write_flags = frozenset(_BLOCKED_EVENTS), dict(_PATH_EVENTS), _WRITE_FLAGS
    root = realpath(root)
    allowed_files = frozenset({os.devnull})

    def inside(path: object) -> bool:
        if isinstance(path, int):  # an already-open descriptor: its opening was checked
            return True
        try:
            p = fsdecode(fspath(path))  # type: ignore[arg-type]
        except TypeError:
            return False
        # root is fixed at install time, so a later os.chdir cannot widen the allowed area
        real = realpath(join(root, p))
        return real == root or real.startswith(root + sep) or real in allowed_files

    def hook(event: str, args: tuple) -> None:
        if event in blocked:
            raise GuardViolation(f"sandbox: {event} is not allowed")
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writes = bool(mode and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & write_flags)
            if writes and not inside(path):
                raise GuardViolation("sandbox: writing outside the sandbox directory is not allowed")
        elif event in path_events:
            for i in path_events[event]:
                if i < len(args) and args[i] is not None and not inside(args[i]):
                    raise GuardViolation(f"sandbox: {event} outside the sandbox directory is not allowed")

    sys.addaudithook(hook)


def _relay_if_namespace_init() -> None:
    """Fork the program off when running as PID 1 of a fresh PID namespace, and relay its fate.

    The kernel never delivers default-action signals such as SIGXCPU or SIGXFSZ to a namespace's
    init, so RLIMIT_CPU and RLIMIT_FSIZE would not end a PID-1 program at the soft limit.
    """
    if os.getpid() != 1:
        return
    pid = os.fork()
    if pid == 0:
        return  # the worker: continues into main()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


def _signal_ready(argv: list[str]) -> None:
    if "--ready-fd" in argv:
        fd = int(argv[argv.index("--ready-fd") + 1])
        os.write(fd, b"1")
        os.close(fd)


def main(argv: list[str]) -> int:
    program = argv[1]
    guard = "--guard" in argv[2:]
    _signal_ready(argv)
    with open(program, encoding="utf-8") as f:
        source = f.read()
    if guard:
        _install_guard(os.getcwd())
    namespace = {"__name__": "__main__", "__file__": program, "__builtins__": __builtins__}
    try:
        code = compile(source, program, "exec")
        exec(code, namespace)  # noqa: S102 - this *is* the sandboxed execution
    except AssertionError:
        traceback.print_exc()
        return EXIT_ASSERT
    except SystemExit as e:
        print(f"sandbox: program called exit({e.code!r})", file=sys.stderr)
        return EXIT_SELF_EXIT
    except BaseException:  # noqa: BLE001 - every other failure is a crash of the candidate
        traceback.print_exc()
        return EXIT_EXCEPTION
    return EXIT_OK


if __name__ == "__main__":
    _relay_if_namespace_init()
    rc = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # skip atexit handlers the candidate may have registered
