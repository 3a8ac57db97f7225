"""The hand-assembled seccomp filter: well-formed BPF, the intended decisions, the right syscall numbers.

Pure tests (no process is started): a small classic-BPF interpreter evaluates the filter on synthetic
``struct seccomp_data``; the syscall tables are compared with the kernel headers when installed.
"""

from __future__ import annotations

import errno
import re
import struct
from pathlib import Path

import pytest

from codelewm.sandbox import seccomp

ARCHES = sorted(seccomp.SYSCALLS)
HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


def _run_filter(prog: list[tuple[int, int, int, int]], data: bytes) -> int:
    """Evaluate classic BPF as the kernel does for seccomp (only the opcodes the filter uses)."""
    acc, pc = 0, 0
    for _ in range(len(prog) + 1):
        code, jt, jf, k = prog[pc]
        if code == 0x20:  # ld [k]
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code in (0x15, 0x35, 0x45):  # jeq / jge / jset
            hit = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:  # ret k
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
    raise AssertionError("filter did not return")


def _data(arch: str, name_or_nr: str | int, *args: int, audit_arch: int | None = None) -> bytes:
    nr = seccomp.SYSCALLS[arch][name_or_nr] if isinstance(name_or_nr, str) else name_or_nr
    padded = list(args) + [0] * (6 - len(args))
    return struct.pack("=iIQ6Q", nr, audit_arch or seccomp.AUDIT_ARCH[arch], 0, *padded)


@pytest.mark.parametrize("arch", ARCHES)
def test_program_is_well_formed(arch: str) -> None:
    prog = seccomp.program(arch)
    assert len(prog) < 4096  # BPF_MAXINSNS
    for i, (code, jt, jf, _) in enumerate(prog):
        if code in (0x15, 0x35, 0x45):
            assert i + 1 + max(jt, jf) < len(prog), f"jump out of the program at {i}"
    assert prog[-1] == (0x06, 0, 0, seccomp.RET_ALLOW)
    blob = seccomp.filter_bytes(arch)
    assert blob is not None and len(blob) == 8 * len(prog)


@pytest.mark.parametrize("arch", ARCHES)
def test_decisions(arch: str) -> None:
    prog = seccomp.program(arch)
    eperm = seccomp.RET_ERRNO | errno.EPERM

    def verdict(*a: object, **kw: int) -> int:
        return _run_filter(prog, _data(arch, *a, **kw))  # type: ignore[arg-type]

    assert verdict("socket", seccomp.AF_UNIX, 1) == seccomp.RET_ALLOW
    assert verdict("socket", 2, 1) == seccomp.RET_ERRNO | errno.EAFNOSUPPORT  # AF_INET
    assert verdict("socket", 16, 3) == seccomp.RET_ERRNO | errno.EAFNOSUPPORT  # AF_NETLINK
    assert verdict("clone", 0x01200011) == seccomp.RET_ALLOW  # what fork() passes
    assert verdict("clone", 0x003D0F00) == seccomp.RET_ALLOW  # what pthread_create passes
    for flag in (0x10000000, 0x20000000, 0x40000000, 0x00020000, 0x00000080):
        assert verdict("clone", 0x01200011 | flag) == eperm, hex(flag)
    assert verdict("clone3") == seccomp.RET_ERRNO | errno.ENOSYS
    for name in ("ptrace", "mount", "unshare", "setns", "keyctl", "bpf", "perf_event_open", "io_uring_setup"):
        assert verdict(name) == eperm, name
    assert verdict(0) == seccomp.RET_ALLOW  # read (x86_64) / io_setup (aarch64): not in the list
    assert verdict(59 if arch == "x86_64" else 221) == seccomp.RET_ALLOW  # execve
    assert verdict(0, audit_arch=0x40000003) == seccomp.RET_KILL_PROCESS  # i386 ABI
    if arch == "x86_64":
        assert verdict(seccomp.X32_SYSCALL_BIT | 41) == seccomp.RET_ERRNO | errno.ENOSYS


@pytest.mark.parametrize("arch", ARCHES)
def test_syscall_numbers_match_kernel_headers(arch: str) -> None:
    header = HEADERS[arch]
    if not header.exists():
        pytest.skip(f"{header} not installed (linux-libc-dev)")
    defined = {m[1]: int(m[2]) for m in re.finditer(r"^#define __NR_(\w+)\s+(\d+)\s*$", header.read_text(), re.M)}
    wrong = {n: (nr, defined.get(n)) for n, nr in seccomp.SYSCALLS[arch].items() if defined.get(n) != nr}
    assert not wrong, wrong


def test_unknown_architecture_has_no_filter() -> None:
    assert seccomp.filter_bytes("mips") is None
    assert seccomp.denied_syscalls("mips") == []
