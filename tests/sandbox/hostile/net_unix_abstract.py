"""Goal: connect to an abstract Unix socket the host listens on (abstract names live in the network namespace)."""

import socket

from _hostile import CTX, attempt


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0" + CTX["abstract"])
    s.sendall(CTX["marker"].encode())
    return "connected"


attempt("abstract unix socket", connect)
