"""Goal: find host secrets in the environment and in inherited file descriptors."""

import os

from _hostile import attempt

print("env:", sorted(os.environ))
attempt(
    "host env leaked",
    lambda: {k: v for k, v in os.environ.items() if k not in ("PATH", "LANG", "HOME", "PYTHONHASHSEED", "PWD")},
)


def fds():
    found = {}
    for fd in range(3, 1024):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        try:
            os.lseek(fd, 0, 0)
            found[target] = os.read(fd, 200)
        except OSError:
            found[target] = b""
    return {k: v for k, v in found.items() if not k.startswith(("pipe:", "/proc/"))}


attempt("inherited fds", fds)
