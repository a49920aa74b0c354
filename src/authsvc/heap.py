"""Giving the hashing threads' freed memory back to the operating system, with glibc.

glibc serves a thread that allocates a lot from an arena of its own, and keeps what `free()`
returns there for the next `malloc()`. argon2 allocates its whole buffer (19 MiB by default)
for every hash, so after a burst of logins each hashing thread keeps one resident: glibc's
trim threshold (twice its mmap threshold, which grows to the buffer's size after the first
hash) is above what one free leaves at the top of the arena, and `malloc_trim` trims only
the main arena's top, never a thread arena's.

So the service fixes the two thresholds where glibc's own adjustment would bring them
(`keep_hash_buffers`): buffers come from the arenas and stay there while hashing goes on,
which is what keeps page faults out of every hash. Once hashing is idle, each hashing thread
lowers the trim threshold for a moment and frees a chunk at the top of its own arena, so
glibc hands the free top back (`release_thread_heap`).

Other C libraries (musl, macOS, Windows) manage their heaps differently and have no
`mallopt`/`malloc_trim` to speak of; there both functions do nothing.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

# mallopt(3) parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2): above it, every buffer is
# mmapped and unmapped on free, and there is nothing to trim.
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024
# glibc's default trim threshold: what is trimmed while a thread releases its heap.
RELEASE_TRIM_THRESHOLD = 128 * 1024
# A free of at least FASTBIN_CONSOLIDATION_THRESHOLD (64 KiB) next to the top makes glibc
# consider trimming the arena; below the default mmap threshold, so it comes from the arena.
_PROBE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Glibc:
    libc: Any
    # mallopt changes process-wide settings: one thread at a time lowers and restores them.
    lock: threading.Lock


@cache
def _glibc() -> _Glibc | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols the interpreter is linked with, libc's included
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("mallopt", "malloc_trim", "gnu_get_libc_version")):
        return None  # not glibc (musl has no gnu_get_libc_version)
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    return _Glibc(libc=libc, lock=threading.Lock())


def can_release() -> bool:
    """Whether the functions below do anything here (Linux with glibc)."""
    return _glibc() is not None


def _thresholds(buffer_bytes: int) -> tuple[int, int]:
    mmap_threshold = min(MAX_MMAP_THRESHOLD, buffer_bytes + 1024 * 1024)
    return mmap_threshold, 2 * mmap_threshold


def keep_hash_buffers(buffer_bytes: int) -> None:
    """Let buffers of `buffer_bytes` come from the arenas and stay there between hashes.

    Fixed here rather than left to glibc's adjustment on the first free, which
    `release_thread_heap`'s own `mallopt` call would otherwise switch off.
    """
    glibc = _glibc()
    if glibc is None:
        return
    mmap_threshold, trim_threshold = _thresholds(buffer_bytes)
    with glibc.lock:
        glibc.libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        glibc.libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)


def release_thread_heap(buffer_bytes: int) -> None:
    """Give the free top of the calling thread's arena, and every whole free page of every
    arena, back to the system. Blocks for a moment: never call it on the event loop."""
    glibc = _glibc()
    if glibc is None:
        return
    _, trim_threshold = _thresholds(buffer_bytes)
    with glibc.lock:
        glibc.libc.mallopt(M_TRIM_THRESHOLD, RELEASE_TRIM_THRESHOLD)
        try:
            probe = glibc.libc.malloc(_PROBE_BYTES)
            glibc.libc.free(probe)  # merges with the top, which glibc now trims
        finally:
            glibc.libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)
        glibc.libc.malloc_trim(0)
