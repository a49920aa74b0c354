"""The Redis client replicas share state through (revocations, throttle counters), if any.

redis-py (with what it pulls in) costs a process about 6 MiB, so it is imported only where
REDIS_URL is set: here when the client is made, and by what is handed the client.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from authsvc.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("authsvc")


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis | None]:
    """A client for REDIS_URL, closed on exit; None when no Redis is configured."""
    if settings.redis_url is None:
        yield None
        return
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await _warn_if_unreachable(redis)
        yield redis
    finally:
        await redis.aclose()


async def _warn_if_unreachable(redis: Redis) -> None:
    """Start degraded rather than not at all, but say so where an operator will look.

    Refusing to start would turn a Redis outage into a crash loop of every replica restarted
    meanwhile; serving degraded keeps them correct (revocations read from the store, throttle
    counters per process) and /readyz keeps them out of rotation until Redis answers.
    """
    try:
        await redis.ping()
    except redis_errors() as exc:
        options = redis.connection_pool.connection_kwargs
        # Host and port only: the URL may carry a password.
        where = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
        # One line an operator can read, not a traceback: the cause is named in it.
        log.error(  # noqa: TRY400
            "REDIS_URL: Redis at %s does not answer (%s). Serving degraded: revocations are "
            "read from the store, throttle counters are kept per process, and /readyz answers "
            "503 until Redis answers.",
            where,
            type(exc).__name__,
        )


def redis_errors() -> tuple[type[Exception], ...]:
    """What a call to Redis raises when Redis fails: its own errors and the socket's. For
    holders of a client only (it imports redis-py)."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)
