"""Hashing threads give argon2's freed buffers back once hashing is idle (glibc)."""

from __future__ import annotations

import asyncio
import platform
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from authsvc import heap
from authsvc.passwords import PasswordService
from tests.support.http import PASSWORD
from tests.support.settings import make_settings

IDLE = 0.1


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class Releases:
    """Records which thread released its heap, then releases it for real."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self, buffer_bytes: int) -> None:
        self.threads.append(threading.get_ident())
        heap.release_thread_heap(buffer_bytes)


@asynccontextmanager
async def hashing(
    tmp_path: Path, releases: Releases, **overrides: object
) -> AsyncIterator[PasswordService]:
    service = PasswordService(make_settings(tmp_path, **overrides), release=releases)
    try:
        yield service
    finally:
        await service.aclose()


async def burst(service: PasswordService, encoded: str, count: int) -> None:
    await asyncio.gather(*(service.verify(PASSWORD, encoded) for _ in range(count)))


async def test_every_hashing_thread_releases_once_hashing_is_idle(tmp_path: Path) -> None:
    releases = Releases()
    async with hashing(
        tmp_path, releases, hash_concurrency=2, hash_idle_trim_seconds=IDLE
    ) as service:
        encoded = await service.hash(PASSWORD)
        await asyncio.sleep(IDLE * 5)
        releases.threads.clear()

        await burst(service, encoded, 6)
        await asyncio.sleep(IDLE * 5)

    # Once per hashing thread, each in its own thread, none on the event loop.
    assert len(releases.threads) == 2
    assert len(set(releases.threads)) == 2
    assert threading.get_ident() not in releases.threads


async def test_nothing_is_released_while_hashes_keep_coming(tmp_path: Path) -> None:
    releases = Releases()
    async with hashing(
        tmp_path, releases, hash_concurrency=1, hash_idle_trim_seconds=1.0
    ) as service:
        encoded = await service.hash(PASSWORD)
        releases.threads.clear()
        for _ in range(6):  # gaps well below the idle time
            await service.verify(PASSWORD, encoded)
            await asyncio.sleep(0.05)
        assert releases.threads == []

        await asyncio.sleep(2.0)
        assert len(releases.threads) == 1


async def test_zero_never_releases(tmp_path: Path) -> None:
    releases = Releases()
    async with hashing(tmp_path, releases, hash_concurrency=2, hash_idle_trim_seconds=0) as service:
        await burst(service, await service.hash(PASSWORD), 4)
        await asyncio.sleep(0.3)
    assert releases.threads == []


async def test_idle_release_returns_the_buffers_to_the_system(tmp_path: Path) -> None:
    if not heap.can_release():
        pytest.skip("returning heap memory needs Linux with glibc; elsewhere it is a no-op")
    releases = Releases()
    async with hashing(
        tmp_path, releases, hash_concurrency=2, hash_idle_trim_seconds=0.2
    ) as service:
        encoded = await service.hash(PASSWORD)
        await burst(service, encoded, 6)
        busy = resident_bytes()

        await asyncio.sleep(1.0)

        # Two threads, each holding one 19 MiB buffer after the burst.
        assert busy - resident_bytes() > 19 * 1024 * 1024
        # And hashing works as before afterwards.
        assert (await service.verify(PASSWORD, encoded)).ok


def test_release_is_available_exactly_with_glibc() -> None:
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert heap.can_release() == glibc
    # Anywhere: on glibc it trims, elsewhere it quietly does nothing.
    heap.keep_hash_buffers(19 * 1024 * 1024)
    heap.release_thread_heap(19 * 1024 * 1024)
