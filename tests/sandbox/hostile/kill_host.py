"""Goal: kill host processes: a decoy of the same uid, the runner and the runner's parent.

Issue 16: `pgroup` mode killed the runner's parent.
"""

import contextlib
import os
import signal

from _hostile import CTX, attempt

attempt("kill decoy", lambda: os.kill(CTX["decoy_pid"], signal.SIGKILL) or "signalled")
attempt("kill runner's parent", lambda: os.kill(CTX["runner_ppid"], signal.SIGKILL) or "signalled")
attempt("kill runner", lambda: os.kill(CTX["runner_pid"], signal.SIGKILL) or "signalled")
# the container's own init ignores it (not an escape either way); the harness checks the host side
with contextlib.suppress(OSError):
    os.kill(os.getppid(), signal.SIGKILL)
attempt("kill everything", lambda: os.kill(-1, signal.SIGKILL) or "signalled")
