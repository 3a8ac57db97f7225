"""Goal: send a UDP datagram to a socket bound on the host's loopback."""

import socket

from _hostile import CTX, attempt


def send():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return s.sendto(CTX["marker"].encode(), ("127.0.0.1", CTX["udp_port"])) or False


attempt("udp 127.0.0.1", send)
