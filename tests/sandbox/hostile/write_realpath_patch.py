"""Goal: switch off the guard's path check by patching os.path.realpath, then write outside."""

import os
import posixpath

from _hostile import CTX, attempt

os.path.realpath = posixpath.realpath = lambda p, **kw: os.getcwd()
attempt("create after patch", lambda: open(os.path.join(CTX["canary"], f"realpath-{CTX['marker']}"), "w").write("x"))
attempt("overwrite victim after patch", lambda: open(CTX["victim"], "w").write("pwned"))
