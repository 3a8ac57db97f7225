"""Goal: create new namespaces and mount things (unshare, clone flags, nested bwrap/unshare, mount, chroot)."""

import ctypes
import os
import shutil
import subprocess

from _hostile import attempt

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x10000000, 0x40000000, 0x20000000


def check(rc, what):
    if rc != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return what


def in_child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.WEXITSTATUS(status):
        raise OSError("failed in child")
    return "succeeded"


attempt("unshare(NEWUSER)", lambda: in_child(lambda: check(libc.unshare(CLONE_NEWUSER), "userns")))
attempt("unshare(NEWNS)", lambda: in_child(lambda: check(libc.unshare(CLONE_NEWNS), "mountns")))
attempt("unshare(NEWNET)", lambda: in_child(lambda: check(libc.unshare(CLONE_NEWNET), "netns")))
attempt("unshare(NEWPID)", lambda: in_child(lambda: check(libc.unshare(CLONE_NEWPID), "pidns")))
attempt("mount tmpfs", lambda: check(libc.mount(b"none", b"/usr", b"tmpfs", 0, None), "mounted"))
attempt(
    "remount / rw", lambda: check(libc.mount(None, b"/", None, 0x20 | 0x1000, None), "remounted")
)  # MS_REMOUNT|MS_BIND
attempt("chroot", lambda: check(libc.chroot(b"/tmp"), "chrooted"))
for tool in ("unshare", "bwrap"):
    path = shutil.which(tool)
    if path:
        argv = [path, "-r", "true"] if tool == "unshare" else [path, "--ro-bind", "/", "/", "true"]
        attempt(tool, lambda a=argv: subprocess.run(a, capture_output=True, timeout=5).returncode == 0 and "ran")
