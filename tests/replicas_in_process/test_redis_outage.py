"""A Redis outage: the revocation feed fails closed on the store, then recovers by itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from authsvc.revocation import RedisRevocationList
from authsvc.store import Store
from tests.support.polling import eventually
from tests.support.processes import ThrowawayRedis
from tests.support.records import make_session

NOW = datetime.now(UTC)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def new_session(store: Store) -> str:
    user = await store.create_user(
        username=f"u{uuid.uuid4().hex[:8]}", email=None, password_hash="x", now=NOW
    )
    session = make_session(user.id, at=NOW, token_hash="h", user_agent=None, ip=None)
    await store.create_session(session)
    return session.id


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

    def feed_down() -> None:
        assert not feed.is_live, "the feed still says it is live"

    def feed_live() -> None:
        assert feed.is_live, "the feed never came back"

    await feed.start()
    try:
        assert feed.is_live
        live_session = await new_session(store)
        assert not await feed.is_revoked(live_session, now=datetime.now(UTC))

        redis_server.stop()
        await eventually(feed_down)
        # Revoked elsewhere while the feed is down: only the store knows.
        await store.revoke_session(live_session, reason="logout", now=datetime.now(UTC))
        assert await feed.is_revoked(live_session, now=datetime.now(UTC))

        redis_server.start()
        await eventually(feed_live, timeout=10)
        # Back on the feed, it answers from memory, which the resync filled from the store.
        assert await feed.is_revoked(live_session, now=datetime.now(UTC))
        other = await new_session(store)
        assert not await feed.is_revoked(other, now=datetime.now(UTC))
    finally:
        await feed.close()
        await redis.aclose()
