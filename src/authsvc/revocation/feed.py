"""Revocations shared between replicas through Redis pub/sub.

Every replica keeps the in-memory list of `memory.py` and answers from it, so the check on
the hot path still costs no round trip. A revocation is applied locally and published; every
other replica applies it as the message arrives (well under a millisecond on one network).

The database stays the source of truth. Whenever a replica (re)subscribes it reloads recent
revocations from the store, so nothing published while it was away is missed. While it is not
subscribed it cannot know what others revoked, so it asks the store for each check instead:
it fails closed, never open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from authsvc.clock import Clock
from authsvc.revocation.memory import MemoryRevocationList
from authsvc.revocation.subscription import Subscription
from authsvc.shared_redis import redis_errors
from authsvc.store.base import SessionStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("authsvc.revocation")


class RedisRevocationList:
    def __init__(
        self,
        redis: Redis,
        *,
        store: SessionStore,
        remember_for: timedelta,
        clock: Clock,
        channel: str,
    ) -> None:
        self._redis = redis
        self._redis_failures = redis_errors()
        self._channel = channel
        self._store = store
        self._clock = clock
        self._local = MemoryRevocationList(remember_for=remember_for)
        # Live once subscribed and caught up with the store since.
        self._subscription = Subscription(
            redis,
            channel,
            apply=self._apply,
            catch_up=self._catch_up,
            lost_warning="revocation feed lost (%s); checking the store until it is back",
        )

    @property
    def is_live(self) -> bool:
        return self._subscription.is_live

    async def start(self) -> None:
        """Subscribe and catch up before serving; without Redis, start in fallback mode."""
        await self._catch_up()
        await self._subscription.start()

    async def close(self) -> None:
        await self._subscription.close()

    async def _catch_up(self) -> None:
        await self._local.load(self._store, now=self._clock())

    async def is_revoked(self, session_id: str, *, now: datetime) -> bool:
        if await self._local.is_revoked(session_id, now=now):
            return True
        if self._subscription.is_live:
            return False
        # Cut off from the other replicas: ask the source of truth. A store error propagates
        # as StoreUnavailable, which every caller treats as "not authenticated".
        session = await self._store.get_session(session_id)
        return session is None or session.revoked_at is not None

    async def add(self, session_ids: Iterable[str], *, revoked_at: datetime) -> None:
        ids = list(session_ids)
        await self._local.add(ids, revoked_at=revoked_at)
        message = json.dumps({"ids": ids, "revoked_at": revoked_at.isoformat()})
        try:
            await self._redis.publish(self._channel, message)
        except self._redis_failures:
            # The store already holds the revocation; replicas that missed this message are
            # unsubscribed too, so they consult the store and reload it when they come back.
            log.warning("revocation not published; replicas will read it from the store")

    def _apply(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            ids = [str(sid) for sid in message["ids"]]
            revoked_at = datetime.fromisoformat(message["revoked_at"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed revocation message")
            return
        self._local.add_now(ids, revoked_at=revoked_at)
