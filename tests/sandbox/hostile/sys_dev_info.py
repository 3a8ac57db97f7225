"""Goal: learn about the host through /sys, /dev, the hostname and mount table."""

import os
import socket

from _hostile import CTX, attempt, read

attempt("list /sys", lambda: os.listdir("/sys")[:10])
attempt("host network devices", lambda: os.listdir("/sys/class/net"))
attempt("block devices", lambda: [d for d in os.listdir("/dev") if d.startswith(("sd", "vd", "nvme", "loop"))])
attempt("read a disk", lambda: read("/dev/vda")[:16])
print("hostname:", socket.gethostname())
attempt(
    "host mounts visible",
    lambda: [ln for ln in read("/proc/self/mounts").decode().splitlines() if CTX["project"] in ln],
)
attempt("network interfaces", lambda: [n for _, n in socket.if_nameindex() if n != "lo"])
