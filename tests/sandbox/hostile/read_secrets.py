"""Goal: read host files outside the sandbox: a world-readable secret, a root-only one, and /root."""

import os

from _hostile import CTX, attempt, read

attempt("world-readable secret", lambda: read(CTX["secret_file"]))
attempt("root-only secret", lambda: read(CTX["root_secret"]))
attempt("root's home canary", lambda: read(CTX["home_canary"]))
attempt("list root's home", lambda: [n for n in os.listdir(CTX["home"]) if "canary" in n])
attempt("list canary dir", lambda: os.listdir(CTX["canary"]))
