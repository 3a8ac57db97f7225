"""Goal: create, overwrite, rename, chmod and delete files in a world-writable directory outside the sandbox."""

import os

from _hostile import CTX, attempt

c, m = CTX["canary"], CTX["marker"]
attempt("create", lambda: open(os.path.join(c, f"escape-{m}"), "w").write("pwned"))
attempt("overwrite victim", lambda: open(CTX["victim"], "w").write("pwned"))
attempt("append victim", lambda: open(CTX["victim"], "a").write("pwned"))
attempt("mkdir", lambda: os.mkdir(os.path.join(c, f"dir-{m}")) or "made")
attempt("rename secret", lambda: os.rename(CTX["secret_file"], os.path.join(c, f"moved-{m}")) or "renamed")
attempt("chmod victim", lambda: os.chmod(CTX["victim"], 0o777) or "chmodded")
attempt("unlink victim", lambda: os.unlink(CTX["victim"]) or "deleted")
attempt("symlink", lambda: os.symlink("/etc/passwd", os.path.join(c, f"link-{m}")) or "linked")
