"""Goal: trace or read the memory of a host process (ptrace, process_vm_readv, /proc/PID/mem)."""

import ctypes
import os

from _hostile import CTX, attempt, read

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206


def ptrace(req, pid):
    rc = libc.ptrace(req, pid, None, None)
    if rc != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "attached"


attempt("PTRACE_ATTACH decoy", lambda: ptrace(PTRACE_ATTACH, CTX["decoy_pid"]))
attempt("PTRACE_SEIZE runner", lambda: ptrace(PTRACE_SEIZE, CTX["runner_pid"]))
attempt("read decoy mem", lambda: read(f"/proc/{CTX['decoy_pid']}/maps")[:80])


def traceme_child():
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.ptrace(0, 0, None, None) == 0 else 1)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) == 0 and "PTRACE_TRACEME ok"


attempt("PTRACE_TRACEME in own child", traceme_child)
