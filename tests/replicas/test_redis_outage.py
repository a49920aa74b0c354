"""A Redis outage: the revocation feed fails closed on the store, then recovers by itself."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from authsvc.revocation import RedisRevocationList
from authsvc.store import Store, open_store
from authsvc.store.base import NewSession
from tests.e2e.harness import free_port

NOW = datetime.now(UTC)


class ThrowawayRedis:
    """A redis-server of this test's own on a free port, so stopping it disturbs nobody."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (Debian package redis-server)"
        self.binary, self.directory, self.port = binary, directory, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            subprocess.run(["sleep", "0.05"], check=True)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with open_store(database_url, migrate=True) as s:
        yield s


async def new_session(store: Store) -> str:
    user = await store.create_user(
        username=f"u{uuid.uuid4().hex[:8]}", email=None, password_hash="x", now=NOW
    )
    session_id = str(uuid.uuid4())
    await store.create_session(
        NewSession(
            id=session_id,
            user_id=user.id,
            token_hash="h",
            user_agent=None,
            ip=None,
            created_at=NOW,
            idle_expires_at=NOW + timedelta(days=1),
            absolute_expires_at=NOW + timedelta(days=2),
        )
    )
    return session_id


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_feed_outage_falls_back_to_the_store_and_recovers(
    redis_server: ThrowawayRedis, store: Store
) -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{redis_server.port}/0", socket_timeout=1)
    feed = RedisRevocationList(
        redis,
        store=store,
        remember_for=timedelta(minutes=10),
        clock=lambda: datetime.now(UTC),
        channel="outage-test",
    )
    await feed.start()
    try:
        assert feed.is_live
        live_session = await new_session(store)
        assert not await feed.is_revoked(live_session, now=datetime.now(UTC))

        redis_server.stop()
        await wait_until(lambda: not feed.is_live, 5)
        # Revoked elsewhere while the feed is down: only the store knows.
        await store.revoke_session(live_session, reason="logout", now=datetime.now(UTC))
        assert await feed.is_revoked(live_session, now=datetime.now(UTC))

        redis_server.start()
        await wait_until(lambda: feed.is_live, 10)
        # Back on the feed, it answers from memory, which the resync filled from the store.
        assert await feed.is_revoked(live_session, now=datetime.now(UTC))
        other = await new_session(store)
        assert not await feed.is_revoked(other, now=datetime.now(UTC))
    finally:
        await feed.close()
        await redis.aclose()
