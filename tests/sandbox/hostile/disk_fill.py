"""Goal: fill a disk (issue 16: 480 MB written in 1 s). Writes 1 MiB files into every place that might be writable."""

import os

from _hostile import CTX, attempt

chunk = b"x" * (1024 * 1024)


def fill(d):
    total = 0
    for i in range(400):
        try:
            with open(os.path.join(d, f"fill-{CTX['marker']}-{i}"), "wb") as f:
                f.write(chunk)
            total += len(chunk)
        except OSError:
            break
    print(f"WROTE {d} {total}")
    return total > CTX["tmpfs_bytes"] and total  # "." and /tmp are one capped tmpfs


for d in (".", "/tmp", "/dev/shm", "/var/tmp", "/", CTX["home"], "/.sandbox"):
    attempt(f"fill {d}", lambda d=d: fill(d))
