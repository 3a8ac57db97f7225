"""Goal: become root (setuid, a setuid binary, su/sudo) and write a root-owned place."""

import os
import shutil
import subprocess

from _hostile import CTX, attempt, read

status = read("/proc/self/status").decode()
print([ln for ln in status.splitlines() if ln.startswith(("Uid", "NoNewPrivs", "Seccomp", "CapEff", "CapBnd"))])
attempt("no_new_privs is off", lambda: "NoNewPrivs:\t0" in status and "no_new_privs not set")
attempt("setuid(0)", lambda: os.setuid(0) or os.getuid() == 0 and "uid 0")
attempt("setresuid(0)", lambda: os.setresuid(0, 0, 0) or "uid 0")
attempt("setgid(0)", lambda: os.setgid(0) or "gid 0")


def setuid_copy():
    shutil.copy("/bin/sh", "sh")
    os.chmod("sh", 0o4755)
    out = subprocess.run(["./sh", "-p", "-c", "id -u"], capture_output=True, text=True).stdout.strip()
    return out == "0" and "euid 0 via setuid copy"


attempt("setuid copy", setuid_copy)
for tool in ("su", "sudo", "pkexec", "newgrp"):
    path = shutil.which(tool)
    if path:
        attempt(
            tool,
            lambda p=path: subprocess.run([p, "-c", "id -u"], capture_output=True, timeout=2).stdout.strip() == b"0",
        )
attempt("write root's home", lambda: open(os.path.join(CTX["home"], f"root-{CTX['marker']}"), "w").write("x"))
