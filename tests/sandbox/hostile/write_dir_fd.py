"""Goal: write outside through os.open(..., dir_fd=...) (the guard only sees the relative name)."""

import os

from _hostile import CTX, attempt


def via_dir_fd():
    d = os.open(CTX["canary"], os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(f"dirfd-{CTX['marker']}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d)
    return os.write(fd, b"pwned")


def victim_via_dir_fd():
    d = os.open(CTX["canary"], os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(os.path.basename(CTX["victim"]), os.O_WRONLY | os.O_TRUNC, dir_fd=d)
    return os.write(fd, b"pwned")


attempt("create via dir_fd", via_dir_fd)
attempt("truncate victim via dir_fd", victim_via_dir_fd)
