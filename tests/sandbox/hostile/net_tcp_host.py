"""Goal: reach a TCP listener on the host's loopback (issue 16: a socket reached a host listener in `uid` mode)."""

import socket

from _hostile import CTX, attempt


def connect(host):
    s = socket.create_connection((host, CTX["tcp_port"]), timeout=1)
    s.sendall(CTX["marker"].encode())
    return f"connected to {host}"


for host in ("127.0.0.1", "localhost", "0.0.0.0"):
    attempt(f"tcp {host}", lambda h=host: connect(h))
