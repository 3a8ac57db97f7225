"""Goal: switch the audit guard off from inside (sys.modules['__main__']._BLOCKED_EVENTS = frozenset()), then escape."""

import os
import socket
import sys

from _hostile import CTX, attempt

boot = sys.modules["__main__"]
boot._BLOCKED_EVENTS = frozenset()
getattr(boot, "_PATH_EVENTS", {}).clear()
boot._WRITE_FLAGS = 0
attempt("write after disabling", lambda: open(os.path.join(CTX["canary"], f"guard-{CTX['marker']}"), "w").write("x"))
attempt(
    "tcp after disabling", lambda: socket.create_connection(("127.0.0.1", CTX["tcp_port"]), timeout=1) and "connected"
)


def fork():  # may raise under the guard: the audit hook is installed for good
    pid = os.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", CTX["marker"]])
    return pid


print("forked", fork())  # in-sandbox success; the harness checks that the child does not outlive the run
