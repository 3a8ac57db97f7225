"""Goal: leave processes running after the run (daemonized grandchild, new session, subprocess)."""

import os
import subprocess
import sys

from _hostile import CTX

sleeper = [sys.executable, "-c", "import time; time.sleep(120)", CTX["marker"]]


def daemon():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, sleeper)
        os._exit(0)
    os.waitpid(pid, 0)
    return "daemon forked"


# spawning succeeds inside the sandbox (without the guard); the goal, outliving the run, is checked outside
for name, spawn in (
    ("double-forked daemon", daemon),
    ("Popen new session", lambda: subprocess.Popen(sleeper, start_new_session=True).pid),
    ("os.system background", lambda: os.system(f"(sleep 120; : {CTX['marker']}) &")),
):
    try:
        print(name, spawn())
    except Exception as e:
        print(name, "refused:", type(e).__name__)
