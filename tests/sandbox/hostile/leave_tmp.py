"""Goal: leave files behind in /tmp and /var/tmp (issue 16: files were left in /tmp)."""

import os

from _hostile import CTX, attempt

m = CTX["marker"]
for d in ("/tmp", "."):  # allowed: the sandbox's own tmpfs, gone after the run
    with open(os.path.join(d, f"left-{m}-{len(d)}"), "w") as f:
        f.write("still here?")
attempt("file in /var/tmp", lambda: open(f"/var/tmp/left-{m}", "w").write("x"))
os.makedirs(f"/tmp/dir-{m}/sub")
