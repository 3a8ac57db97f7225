"""Goal: read other processes through /proc (issue 16: 75 host pids with command lines were visible)."""

import os

from _hostile import CTX, attempt, read

pids = [p for p in os.listdir("/proc") if p.isdigit()]
print("visible pids:", len(pids))
attempt("more than the sandbox's own pids", lambda: len(pids) > 5 and len(pids))
attempt("decoy cmdline", lambda: read(f"/proc/{CTX['decoy_pid']}/cmdline"))
attempt("runner environ", lambda: read(f"/proc/{CTX['runner_pid']}/environ")[:200])
attempt("runner cmdline", lambda: read(f"/proc/{CTX['runner_pid']}/cmdline")[:200])
attempt("all cmdlines", lambda: [read(f"/proc/{p}/cmdline")[:80] for p in pids if p not in ("1", str(os.getpid()))])
attempt("host sysrq", lambda: open("/proc/sysrq-trigger", "w").write("h"))
attempt("host sysctl", lambda: open("/proc/sys/kernel/core_pattern", "w").write("|/bin/sh"))
