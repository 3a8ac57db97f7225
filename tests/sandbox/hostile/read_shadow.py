"""Goal: read /etc/shadow (issue 16: read in `pgroup` mode), directly or by proc/symlink/hardlink detours.

Only digests are printed; the harness compares them with the host's file.
"""

import os

from _hostile import CTX, attempt, digest, read

paths = ["/etc/shadow", "/etc/gshadow", "/proc/1/root/etc/shadow", f"/proc/{CTX['runner_pid']}/root/etc/shadow"]
for p in paths:
    attempt(f"read {p}", lambda p=p: digest(read(p)))


def via_symlink():
    os.symlink("/etc/shadow", "shadow-link")
    return digest(read("shadow-link"))


def via_hardlink():
    os.link("/etc/shadow", "shadow-hard")
    return digest(read("shadow-hard"))


attempt("symlink", via_symlink)
attempt("hardlink", via_hardlink)
