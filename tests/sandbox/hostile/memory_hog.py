"""Goal: take the host's memory (2 GiB at once, then 4 GiB of mapped pages)."""

import mmap

from _hostile import attempt

EXPECT_STATUS = ("passed", "error", "killed")  # MemoryError caught by attempt, or killed
attempt("bytearray 2 GiB", lambda: len(bytearray(2 * 1024**3)))
attempt("mmap 4 GiB", lambda: len(mmap.mmap(-1, 4 * 1024**3)))
