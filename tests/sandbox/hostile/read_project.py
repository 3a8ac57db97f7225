"""Goal: read the project's files (issue 16: readable in every old mode), also through the runner's /proc cwd."""

import os

from _hostile import CTX, attempt, digest, read

proj = CTX["project"]
attempt("list project", lambda: sorted(os.listdir(proj))[:20])
attempt("read pyproject", lambda: digest(read(os.path.join(proj, "pyproject.toml"))))
attempt("runner cwd", lambda: digest(read(f"/proc/{CTX['runner_pid']}/cwd/pyproject.toml")))
attempt("climb from cwd", lambda: sorted(os.listdir("../../../../" + proj.lstrip("/")))[:20])
attempt("params.yaml", lambda: digest(read(os.path.join(proj, "params.yaml"))))
