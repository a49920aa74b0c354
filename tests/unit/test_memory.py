"""The mmap threshold really returns argon2's buffers: measured in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Hashes on two threads, as the hashing pool does, then prints how much resident memory grew.
PROBE = """
import sys
from concurrent.futures import ThreadPoolExecutor
from argon2 import PasswordHasher, Type
from authsvc.memory import release_large_blocks

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")

if sys.argv[1] == "release":
    assert release_large_blocks()
hasher = PasswordHasher(time_cost=1, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
before = rss_kib()
with ThreadPoolExecutor(max_workers=2) as pool:
    list(pool.map(hasher.hash, [f"password {i}" for i in range(8)]))
print(rss_kib() - before)
"""


def _growth_kib(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(result.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_hash_buffers_are_returned_after_each_hash() -> None:
    kept = _growth_kib("keep")
    released = _growth_kib("release")
    # Without the threshold each hashing thread's arena keeps a 19 MiB buffer.
    assert kept > 19 * 1024
    assert released < kept / 4
