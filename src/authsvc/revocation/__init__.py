"""Which sessions were revoked recently: in this process's memory, or shared through Redis.

`memory.py` holds the list one process answers from; `feed.py` keeps it in step across
replicas over Redis pub/sub. `open_revocation_list` picks the one the settings ask for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from authsvc.clock import Clock
from authsvc.revocation.feed import RedisRevocationList
from authsvc.revocation.memory import MemoryRevocationList, RevocationList
from authsvc.revocation.profiles import RedisProfileFeed, open_profile_feed
from authsvc.settings import Settings
from authsvc.store.base import SessionStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "MemoryRevocationList",
    "RedisProfileFeed",
    "RedisRevocationList",
    "RevocationList",
    "open_profile_feed",
    "open_revocation_list",
]


@asynccontextmanager
async def open_revocation_list(
    settings: Settings, *, store: SessionStore, clock: Clock, redis: Redis | None
) -> AsyncIterator[RevocationList]:
    """The list, caught up with the store; shared through `redis` when there is one."""
    # A revoked session must be remembered while its access tokens can still be valid.
    remember_for = timedelta(
        seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds
    )
    if redis is None:
        memory = MemoryRevocationList(remember_for=remember_for)
        await memory.load(store, now=clock())
        yield memory
        return
    shared = RedisRevocationList(
        redis,
        store=store,
        remember_for=remember_for,
        clock=clock,
        channel=f"{settings.redis_prefix}:revocations",
    )
    await shared.start()
    try:
        yield shared
    finally:
        await shared.close()
