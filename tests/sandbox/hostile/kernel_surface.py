"""Goal: reach kernel interfaces a test never needs.

keyctl, add_key, bpf, perf_event_open, io_uring, userfaultfd, kexec, modules, open_by_handle_at, syslog.
"""

import ctypes
import os
import platform

from _hostile import attempt

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {
    "x86_64": {
        "keyctl": 250,
        "add_key": 248,
        "bpf": 321,
        "perf_event_open": 298,
        "io_uring_setup": 425,
        "userfaultfd": 323,
        "kexec_load": 246,
        "finit_module": 313,
        "open_by_handle_at": 304,
        "syslog": 103,
    },
    "aarch64": {
        "keyctl": 219,
        "add_key": 217,
        "bpf": 280,
        "perf_event_open": 241,
        "io_uring_setup": 425,
        "userfaultfd": 282,
        "kexec_load": 104,
        "finit_module": 273,
        "open_by_handle_at": 265,
        "syslog": 116,
    },
}.get(platform.machine(), {})
attr = ctypes.create_string_buffer(128)
params = ctypes.create_string_buffer(120)
ARGS = {
    "keyctl": (0, 0, 0, 0),  # KEYCTL_GET_KEYRING_ID
    "add_key": (ctypes.c_char_p(b"user"), ctypes.c_char_p(b"k"), ctypes.c_char_p(b"v"), 1, -3),
    "bpf": (0, attr, 128),
    "perf_event_open": (attr, 0, -1, -1, 0),
    "io_uring_setup": (4, params),
    "userfaultfd": (0,),
    "kexec_load": (0, 0, None, 0),
    "finit_module": (0, ctypes.c_char_p(b""), 0),
    "open_by_handle_at": (0, attr, 0),
    "syslog": (3, attr, 64),  # SYSLOG_ACTION_READ_ALL
}


def call(name):
    rc = libc.syscall(NR[name], *ARGS[name])
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return f"{name} returned {rc}"


for name in NR:
    attempt(name, lambda n=name: call(n))
