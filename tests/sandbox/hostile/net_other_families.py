"""Goal: open netlink, packet, raw and IPv6 sockets and resolve a name (seccomp allows only AF_UNIX)."""

import socket

from _hostile import attempt

FAMILIES = {
    "AF_INET": (socket.AF_INET, socket.SOCK_STREAM, 0),
    "AF_INET6": (socket.AF_INET6, socket.SOCK_STREAM, 0),
    "AF_NETLINK": (16, socket.SOCK_RAW, 0),
    "AF_PACKET": (17, socket.SOCK_RAW, 0),
    "AF_INET raw": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    "AF_VSOCK": (40, socket.SOCK_STREAM, 0),
}
for name, args in FAMILIES.items():
    attempt(f"socket {name}", lambda a=args: socket.socket(*a).fileno() >= 0 and "socket created")
attempt("getaddrinfo", lambda: socket.getaddrinfo("example.com", 80)[0][4])
