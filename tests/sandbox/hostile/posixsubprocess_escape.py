"""Goal: spawn processes through _posixsubprocess.fork_exec, one lingering, one writing outside.

fork_exec raises no audit event: it bypasses the in-process guard.
"""

import _posixsubprocess
import os
import sys
import time

from _hostile import CTX, attempt


def fork_exec(argv):
    args = [os.fsencode(a) for a in argv]
    common = [args, [args[0]], True, (), None, None, -1, -1, -1, -1, -1, -1]
    r, w = os.pipe()
    tail = [r, w, True, True]
    for extra in (
        [-1, None, None, None, -1, None, True],
        [-1, None, None, None, -1, None],
        [None, None, None, -1, None],
    ):
        try:
            return _posixsubprocess.fork_exec(*common, *tail, *extra)
        except TypeError:
            continue
    raise RuntimeError("no fork_exec signature matched")


escape = os.path.join(CTX["canary"], f"posix-{CTX['marker']}")
# spawning works (no audit event, so not even the guard stops it); the goals are checked outside
print("writer", fork_exec(["/bin/sh", "-c", f"echo pwned > {escape}"]))
print("sleeper", fork_exec([sys.executable, "-c", "import time; time.sleep(120)", CTX["marker"]]))
time.sleep(0.5)
attempt("writer landed", lambda: os.path.exists(escape) and "file exists")
