"""The throttle's in-process storage: limits' windows, an inline expiry sweep, no threads."""

from __future__ import annotations

import asyncio
import time

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from authsvc.throttle_memory import SWEEP_BATCH, SWEEP_SECONDS, LocalStorage


async def test_counts_a_moving_window_like_limits_memory_storage() -> None:
    limiter = MovingWindowRateLimiter(LocalStorage())
    item = parse("3/minute")
    assert [await limiter.hit(item, "k") for _ in range(4)] == [True, True, True, False]
    assert await limiter.hit(item, "other")
    assert not await limiter.test(item, "k")


async def test_hits_never_hop_to_a_thread() -> None:
    # limits' own sweep runs `asyncio.to_thread` per key, which creates the loop's default
    # executor; with the inline sweep nothing does.
    limiter = MovingWindowRateLimiter(LocalStorage())
    item = parse("5/second")
    for key in range(200):
        await limiter.hit(item, str(key))
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    assert getattr(loop, "_default_executor", None) is None


async def test_sweep_drops_expired_windows_and_counters_only() -> None:
    storage = LocalStorage()
    limiter = MovingWindowRateLimiter(storage)
    short, long = parse("5/second"), parse("5/hour")
    for key in range(3):
        await limiter.hit(short, f"short-{key}")
    await limiter.hit(long, "long")
    await storage.incr("mark-short", 1)
    await storage.incr("mark-long", 3600)

    storage.sweep(time.time() + SWEEP_SECONDS + 1)

    assert [key for key in storage.events if "short" in key] == []
    assert len(storage.events) == 1
    assert set(storage.expirations) == {"mark-long"}
    assert await storage.get("mark-long") == 1
    # What is left still counts: one of five taken.
    assert (await limiter.get_window_stats(long, "long")).remaining == 4


async def test_a_sweep_over_many_keys_goes_in_batches() -> None:
    storage = LocalStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = parse("5/second")
    keys = SWEEP_BATCH * 2 + 10
    for key in range(keys):
        await limiter.hit(item, str(key))
    later = time.time() + SWEEP_SECONDS + 1

    storage.sweep(later)
    assert len(storage.events) == keys - SWEEP_BATCH
    storage.sweep(later)
    storage.sweep(later)
    assert storage.events == {}


async def test_a_new_sweep_waits_for_the_interval() -> None:
    storage = LocalStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = parse("5/second")
    await limiter.hit(item, "first")
    # The hit started the first sweep, when nothing had expired.
    assert len(storage.events) == 1

    storage.sweep(time.time() + 2)  # expired, but the next sweep is not due
    assert len(storage.events) == 1
    storage.sweep(time.time() + SWEEP_SECONDS + 1)
    assert storage.events == {}
