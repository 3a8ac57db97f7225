"""Goal: fill the host's disk through the captured stdout (RLIMIT_FSIZE caps it)."""

import sys

EXPECT_STATUS = ("killed", "error")
line = "x" * 1023 + "\n"
for _ in range(200 * 1024):
    sys.stdout.write(line)
