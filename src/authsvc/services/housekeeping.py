"""Housekeeping: ended sessions are deleted once nothing can need them any more.

A session that was revoked or expired more than SESSION_RETENTION_SECONDS ago goes. The
retention is at least an access-token lifetime plus leeway (settings.py refuses less): the
revocation lists are rebuilt at startup from revoked rows within that window, so a deleted row
can never let an access token of its session pass again, and a deleted session's refresh token
names a session that no longer exists, which rotation refuses.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from authsvc.background import in_background
from authsvc.clock import Clock
from authsvc.errors import StoreUnavailable
from authsvc.events import EventKind, Observer, SecurityEvent
from authsvc.observers.security_log import SecurityLog
from authsvc.settings import Settings
from authsvc.store.base import SessionStore

# Rows deleted per transaction: small enough that a login or refresh waiting for the write
# lock (SQLite) or for a row (PostgreSQL) waits milliseconds, not seconds.
PURGE_BATCH_SIZE = 500

log = logging.getLogger("authsvc.housekeeping")


class SessionPurger:
    def __init__(
        self,
        *,
        store: SessionStore,
        settings: Settings,
        clock: Clock,
        observer: Observer | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        # Without one, the purge is still on record in the security log, as in the CLI.
        self._observer = observer if observer is not None else SecurityLog()
        self._retention = timedelta(seconds=settings.session_retention_seconds)

    async def purge(self) -> int | None:
        """Delete sessions ended longer ago than the retention period: how many, or None when
        another process is purging right now.

        Raises: StoreUnavailable.
        """
        deleted = await self._store.purge_sessions(
            ended_before=self._clock() - self._retention, batch_size=PURGE_BATCH_SIZE
        )
        if deleted is not None:
            await self._observer.record(SecurityEvent(EventKind.SESSIONS_PURGED, count=deleted))
        return deleted

    async def run(self, interval_seconds: float) -> None:
        """Purge every `interval_seconds`, until cancelled."""
        # The first run falls at a random point of the first interval: replicas started
        # together do not all try at once, and a process restarted more often than the
        # interval still purges.
        delay = secrets.SystemRandom().uniform(0, interval_seconds)
        while True:
            await asyncio.sleep(delay)
            delay = interval_seconds
            # What was deleted is a sessions_purged event; only the skips are logged here.
            try:
                deleted = await self.purge()
            except StoreUnavailable:
                log.warning("session purge skipped: store unavailable")
                continue
            if deleted is None:
                log.info("session purge skipped: another process is purging")


@asynccontextmanager
async def periodic_purge(purger: SessionPurger, interval_seconds: float) -> AsyncIterator[None]:
    """Run the purge in the background while the block runs; 0 means never."""
    if interval_seconds <= 0:
        yield
        return
    async with in_background(purger.run(interval_seconds), name="session-purge"):
        yield
