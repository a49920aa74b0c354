"""Hand argon2's buffers back to the operating system after every hash.

Each hash allocates `argon2_memory_cost` KiB (19 MiB by default) with malloc. glibc serves a
block that large with mmap at first, but then raises its mmap threshold to the size of the
freed block, so later hashes are carved from the heap arena of the hashing thread and the
arena keeps the memory: with one arena per hashing thread, every worker holds tens of MiB it
only uses during logins. A fixed threshold keeps those blocks on mmap, released at free.
"""

from __future__ import annotations

import ctypes
import sys

# From glibc's <malloc.h>.
_M_MMAP_THRESHOLD = -3
# Far above anything the interpreter allocates often, far below an argon2 buffer.
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


def release_large_blocks(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Serve allocations of `threshold` bytes or more with mmap; False where that is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
