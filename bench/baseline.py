"""How fast argon2-cffi alone verifies with the service's parameters: the login ceiling."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type

from authsvc.settings import Settings


def argon2_rate(settings: Settings, *, threads: int, seconds: float) -> float:
    """Verifications per second on `threads` threads (argon2-cffi releases the GIL)."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    stored = hasher.hash("bench-password")
    deadline = time.monotonic() + seconds

    def work() -> int:
        count = 0
        while time.monotonic() < deadline:
            hasher.verify(stored, "bench-password")
            count += 1
        return count

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(lambda _: work(), range(threads)))
    return total / (time.monotonic() - started)
