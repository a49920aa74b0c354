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

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from authsvc.clock import Clock
from authsvc.errors import StoreUnavailable
from authsvc.revocation.memory import MemoryRevocationList
from authsvc.store.base import SessionStore

RETRY_MAX_SECONDS = 5.0

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
        self._channel = channel
        self._store = store
        self._clock = clock
        self._local = MemoryRevocationList(remember_for=remember_for)
        self._live = False  # subscribed, and caught up with the store since
        self._listener: asyncio.Task[None] | None = None

    @property
    def is_live(self) -> bool:
        return self._live

    async def start(self) -> None:
        """Subscribe and catch up before serving; without Redis, start in fallback mode."""
        await self._local.load(self._store, now=self._clock())
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready), name="revocation-listener")
        # Wait for the first subscription, but never hang startup on an unreachable Redis.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=2)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def is_revoked(self, session_id: str, *, now: datetime) -> bool:
        if await self._local.is_revoked(session_id, now=now):
            return True
        if self._live:
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
        except (RedisError, OSError):
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

    async def _listen(self, ready: asyncio.Event) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                # Subscribed first, then caught up: anything published meanwhile is queued on
                # the subscription and applied right after.
                await self._local.load(self._store, now=self._clock())
                self._live = True
                ready.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                self._live = False
                raise
            except (RedisError, OSError, StoreUnavailable) as exc:
                if self._live:
                    log.warning(
                        "revocation feed lost (%s); checking the store until it is back", exc
                    )
                self._live = False
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks hints
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
