"""Goal: connect to a Unix socket the host listens on (a path in a world-writable dir; AF_UNIX is allowed)."""

import socket

from _hostile import CTX, attempt


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(CTX["unix_sock"])
    s.sendall(CTX["marker"].encode())
    return "connected"


attempt("unix socket path", connect)
