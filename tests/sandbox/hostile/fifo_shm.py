"""Goal: leave a FIFO and files in /dev/shm and /tmp (issue 16: a FIFO was left in /dev/shm)."""

import os

from _hostile import CTX, attempt

m = CTX["marker"]
attempt("fifo /dev/shm", lambda: os.mkfifo(f"/dev/shm/fifo-{m}") or os.path.exists(f"/dev/shm/fifo-{m}"))
attempt("file /dev/shm", lambda: open(f"/dev/shm/file-{m}", "w").write("x"))
os.mkfifo(f"/tmp/fifo-{m}")  # allowed: the sandbox's own /tmp, gone after the run
