"""A small seccomp deny-list, assembled here as classic BPF for bubblewrap's ``--seccomp FD``.

Why hand-assembled: bwrap wants a compiled BPF program (an array of ``struct sock_filter``). The
libseccomp Python bindings are not on PyPI for a venv (Debian's ``python3-seccomp`` is built for the
system interpreter only), and calling ``libseccomp.so`` through ctypes would tie the sandbox to a C
ABI that is not checked anywhere. The program below is about 120 instructions of four kinds (load,
compare, bit test, return), its syscall numbers are cross-checked against the kernel headers by
``tests/sandbox/test_seccomp.py`` where they are installed, and it only has to be right for two
architectures.

What it does (a deny-list: everything else is allowed, the namespaces and the read-only mounts of
:mod:`codelewm.sandbox.runner` are the containment; this removes kernel attack surface a test
program never needs):

* a syscall made under another ABI (i386 ``int 0x80`` from x86_64, x32) kills the process or fails;
* ``socket()`` of any family but ``AF_UNIX`` fails with ``EAFNOSUPPORT`` (the sandbox also has its own,
  empty network namespace);
* ``clone()`` with any ``CLONE_NEW*`` flag fails with ``EPERM``; ``clone3`` fails with ``ENOSYS`` (its
  flags live in memory BPF cannot read; glibc then falls back to ``clone``);
* ``EPERM`` for: ptrace and process_vm_*, every mount-related call, chroot, unshare, setns, keyctl and
  the key calls, bpf, perf_event_open, userfaultfd, io_uring, kexec, modules, reboot, swap, acct,
  clock setting, open_by_handle_at, iopl/ioperm, syslog, quotactl, fanotify_init, vhangup, uselib.

Architectures: x86_64 and aarch64. Elsewhere :func:`filter_bytes` returns ``None`` and the runner
records the isolation without ``+seccomp``.
"""

from __future__ import annotations

import errno
import platform
import struct

# classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h)
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000

# offsets in struct seccomp_data {int nr; u32 arch; u64 instruction_pointer; u64 args[6];}
_OFF_NR, _OFF_ARCH, _OFF_ARG0_LO = 0, 4, 16

AF_UNIX = 1
# CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
# | CLONE_NEWNET
CLONE_NS_FLAGS = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
X32_SYSCALL_BIT = 0x40000000

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# syscall numbers: arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "socket": 41,
        "clone": 56,
        "clone3": 435,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "chroot": 161,
        "unshare": 272,
        "setns": 308,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "mount_setattr": 442,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "kexec_load": 246,
        "kexec_file_load": 320,
        "init_module": 175,
        "finit_module": 313,
        "delete_module": 176,
        "reboot": 169,
        "swapon": 167,
        "swapoff": 168,
        "acct": 163,
        "settimeofday": 164,
        "clock_settime": 227,
        "clock_adjtime": 305,
        "adjtimex": 159,
        "open_by_handle_at": 304,
        "name_to_handle_at": 303,
        "iopl": 172,
        "ioperm": 173,
        "syslog": 103,
        "quotactl": 179,
        "quotactl_fd": 443,
        "lookup_dcookie": 212,
        "fanotify_init": 300,
        "vhangup": 153,
        "uselib": 134,
    },
    "aarch64": {
        "socket": 198,
        "clone": 220,
        "clone3": 435,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "mount": 40,
        "umount2": 39,
        "pivot_root": 41,
        "chroot": 51,
        "unshare": 97,
        "setns": 268,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "mount_setattr": 442,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "kexec_load": 104,
        "kexec_file_load": 294,
        "init_module": 105,
        "finit_module": 273,
        "delete_module": 106,
        "reboot": 142,
        "swapon": 224,
        "swapoff": 225,
        "acct": 89,
        "settimeofday": 170,
        "clock_settime": 112,
        "clock_adjtime": 266,
        "adjtimex": 171,
        "open_by_handle_at": 265,
        "name_to_handle_at": 264,
        "syslog": 116,
        "quotactl": 60,
        "quotactl_fd": 443,
        "lookup_dcookie": 18,
        "fanotify_init": 262,
        "vhangup": 58,
    },
}
# handled by argument checks rather than a flat deny
_SPECIAL = ("socket", "clone", "clone3")


def _stmt(code: int, k: int) -> tuple[int, int, int, int]:
    return (code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> tuple[int, int, int, int]:
    return (code, jt, jf, k)


def _errno(e: int) -> int:
    return RET_ERRNO | (e & 0xFFFF)


def program(arch: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``arch`` as (code, jt, jf, k) instructions."""
    nrs = SYSCALLS[arch]
    prog = [
        _stmt(_LD_W_ABS, _OFF_ARCH),
        _jump(_JEQ_K, AUDIT_ARCH[arch], 1, 0),
        _stmt(_RET_K, RET_KILL_PROCESS),  # another ABI's syscall table: never expected
        _stmt(_LD_W_ABS, _OFF_NR),
    ]
    if arch == "x86_64":
        prog += [_jump(_JGE_K, X32_SYSCALL_BIT, 0, 1), _stmt(_RET_K, _errno(errno.ENOSYS))]
    for name in sorted(n for n in nrs if n not in _SPECIAL):
        prog += [_jump(_JEQ_K, nrs[name], 0, 1), _stmt(_RET_K, _errno(errno.EPERM))]
    prog += [_jump(_JEQ_K, nrs["clone3"], 0, 1), _stmt(_RET_K, _errno(errno.ENOSYS))]
    # socket(family, ...): only AF_UNIX
    prog += [
        _jump(_JEQ_K, nrs["socket"], 0, 4),
        _stmt(_LD_W_ABS, _OFF_ARG0_LO),
        _jump(_JEQ_K, AF_UNIX, 1, 0),
        _stmt(_RET_K, _errno(errno.EAFNOSUPPORT)),
        _stmt(_RET_K, RET_ALLOW),
    ]
    # clone(flags, ...): no new namespaces (flags are the first argument on both architectures)
    prog += [
        _jump(_JEQ_K, nrs["clone"], 0, 4),
        _stmt(_LD_W_ABS, _OFF_ARG0_LO),
        _jump(_JSET_K, CLONE_NS_FLAGS, 0, 1),
        _stmt(_RET_K, _errno(errno.EPERM)),
        _stmt(_RET_K, RET_ALLOW),
    ]
    prog.append(_stmt(_RET_K, RET_ALLOW))
    return prog


def machine() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def filter_bytes(arch: str | None = None) -> bytes | None:
    """The compiled filter (``struct sock_filter[]``, native byte order) or ``None`` if ``arch`` is unsupported."""
    arch = arch or machine()
    if arch not in SYSCALLS:
        return None
    return b"".join(struct.pack("=HBBI", *ins) for ins in program(arch))


def denied_syscalls(arch: str | None = None) -> list[str]:
    """Names of the syscalls the filter refuses outright or by argument (for docs and tests)."""
    return sorted(SYSCALLS.get(arch or machine(), {}))
