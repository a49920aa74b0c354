"""One Redis pub/sub channel followed for as long as the process serves.

What travels over it (revocations, profile changes) is also in the store, so a replica that
was not subscribed has only missed what it can rebuild: after every (re)subscription it first
catches up, then counts as live. While not live its owner must not trust what it heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from authsvc.errors import StoreUnavailable
from authsvc.shared_redis import redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

RETRY_MAX_SECONDS = 5.0

log = logging.getLogger("authsvc.revocation")


class Subscription:
    """`channel` followed until closed; `apply` gets each message, `catch_up` runs after
    each subscription and before `is_live` turns True, and `on_live` hears every change
    of `is_live`."""

    def __init__(
        self,
        redis: Redis,
        channel: str,
        *,
        apply: Callable[[bytes | str], None],
        catch_up: Callable[[], Awaitable[None]],
        lost_warning: str,
        on_live: Callable[[bool], None] | None = None,
    ) -> None:
        self._redis = redis
        self._redis_failures = redis_errors()
        # A failed catch-up ends the subscription like a lost connection: retried.
        self._run_failures: tuple[type[Exception], ...] = (*self._redis_failures, StoreUnavailable)
        self._channel = channel
        self._apply = apply
        self._catch_up = catch_up
        self._lost_warning = lost_warning
        self._on_live = on_live
        self._live = False
        self._listener: asyncio.Task[None] | None = None

    @property
    def is_live(self) -> bool:
        return self._live

    async def start(self) -> None:
        """Subscribe; waits for the first subscription, but never hangs startup on an
        unreachable Redis (the subscription keeps trying meanwhile)."""
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready), name=f"{self._channel}-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=2)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    def _set_live(self, live: bool) -> None:
        if live != self._live:
            self._live = live
            if self._on_live is not None:
                self._on_live(live)

    async def _listen(self, ready: asyncio.Event) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                # Subscribed first, then caught up: anything published meanwhile is queued on
                # the subscription and applied right after.
                await self._catch_up()
                self._set_live(True)
                ready.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                self._set_live(False)
                raise
            except self._run_failures as exc:
                if self._live:
                    log.warning(self._lost_warning, exc)
                self._set_live(False)
            finally:
                with contextlib.suppress(*self._redis_failures):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks hints
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
