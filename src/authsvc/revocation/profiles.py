"""Profile changes told to every replica over Redis pub/sub, beside the revocations.

A replica that changes a profile (roles, e-mail, disabling, deletion) publishes the user's id;
every replica subscribed drops that profile from its cache as the message arrives. While a
replica is not subscribed it cannot know what it missed, so it keeps no profiles at all, and
after every (re)subscription it starts from an empty cache.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

from authsvc.revocation.subscription import Subscription
from authsvc.settings import Settings
from authsvc.shared_redis import redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("authsvc.revocation")


class ProfileListener(Protocol):
    """What keeps profiles: told which changed, and whether it hears every change."""

    def forget(self, user_ids: Iterable[str] | None) -> None: ...

    def trust(self, heard: bool) -> None: ...

    def share(
        self, publish: Callable[[list[str] | None], Awaitable[None]], *, trusted: bool
    ) -> None: ...


class RedisProfileFeed:
    def __init__(self, redis: Redis, *, listener: ProfileListener, channel: str) -> None:
        self._redis = redis
        self._redis_failures = redis_errors()
        self._channel = channel
        self._listener = listener
        self._subscription = Subscription(
            redis,
            channel,
            apply=self._apply,
            catch_up=self._catch_up,
            lost_warning="profile change feed lost (%s); profiles are read from the store",
            on_live=listener.trust,
        )

    @property
    def is_live(self) -> bool:
        return self._subscription.is_live

    async def start(self) -> None:
        await self._subscription.start()

    async def close(self) -> None:
        await self._subscription.close()

    async def publish(self, user_ids: list[str] | None) -> None:
        try:
            await self._redis.publish(self._channel, json.dumps({"ids": user_ids}))
        except self._redis_failures:
            # The store holds the change; replicas that lost Redis too keep no profiles, and
            # any other sees the change within PROFILE_CACHE_SECONDS.
            log.warning("profile change not published; other replicas see it within its max age")

    async def _catch_up(self) -> None:
        self._listener.forget(None)

    def _apply(self, data: bytes | str) -> None:
        try:
            ids = json.loads(data)["ids"]
            user_ids = None if ids is None else [str(user_id) for user_id in ids]
        except (ValueError, KeyError, TypeError):
            # Unreadable: whose profile changed is unknown, so none is kept.
            log.warning("malformed profile change message; every cached profile dropped")
            user_ids = None
        self._listener.forget(user_ids)


def profile_channel(settings: Settings) -> str:
    return f"{settings.redis_prefix}:profiles"


@asynccontextmanager
async def open_profile_feed(
    settings: Settings,
    *,
    listener: ProfileListener | None,
    redis: Redis | None,
    listen: bool = True,
) -> AsyncIterator[RedisProfileFeed | None]:
    """`listener`'s feed when there is Redis, subscribed when `listen` (a command only
    publishes)."""
    if redis is None or listener is None:
        yield None
        return
    feed = RedisProfileFeed(redis, listener=listener, channel=profile_channel(settings))
    # A listener trusts its profiles only once subscribed (the feed says when).
    listener.share(feed.publish, trusted=not listen)
    if not listen:
        yield feed
        return
    await feed.start()
    try:
        yield feed
    finally:
        await feed.close()
