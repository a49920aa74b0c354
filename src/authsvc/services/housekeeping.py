"""Housekeeping: ended sessions are deleted once nothing can need them any more, and audit
events once they are older than AUDIT_RETENTION_DAYS; one periodic task runs both purges.

A session that was revoked or expired more than SESSION_RETENTION_SECONDS ago goes. The
retention is at least an access-token lifetime plus leeway (the settings refuse less): the
revocation lists are rebuilt at startup from revoked rows within that window, so a deleted row
can never let an access token of its session pass again, and a deleted session's refresh token
names a session that no longer exists, which rotation refuses.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from authsvc.background import in_background
from authsvc.clock import Clock
from authsvc.errors import StoreUnavailable
from authsvc.events import EventKind, Observer, SecurityEvent
from authsvc.observers.security_log import SecurityLog
from authsvc.settings import Settings
from authsvc.store.base import AuditStore, SessionStore

# Rows deleted per transaction: small enough that a login or refresh waiting for the write
# lock (SQLite) or for a row (PostgreSQL) waits milliseconds, not seconds.
PURGE_BATCH_SIZE = 500

log = logging.getLogger("authsvc.housekeeping")


S = TypeVar("S")  # the store part a purger deletes from


class Purger(Generic[S]):
    """Deletes one kind of row once it is older than a retention period; `what` names the
    kind in the log, `purged` is the event reporting how many went."""

    what: ClassVar[str]
    purged: ClassVar[EventKind]

    def __init__(
        self,
        *,
        store: S,
        settings: Settings,
        clock: Clock,
        observer: Observer | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        # Without one, the purge is still on record in the security log, as in the CLI.
        self._observer = observer if observer is not None else SecurityLog()
        self._retention = self.retention(settings)

    @staticmethod
    def retention(settings: Settings) -> timedelta:
        raise NotImplementedError

    async def purge(self) -> int | None:
        """Delete what is older than the retention period: how many, or None when another
        process is purging the same rows right now.

        Raises: StoreUnavailable.
        """
        deleted = await self._delete(self._clock() - self._retention)
        if deleted is not None:
            await self._observer.record(SecurityEvent(self.purged, count=deleted))
        return deleted

    async def _delete(self, before: datetime) -> int | None:
        raise NotImplementedError


class SessionPurger(Purger[SessionStore]):
    """Deletes sessions that ended more than SESSION_RETENTION_SECONDS ago."""

    what = "session"
    purged = EventKind.SESSIONS_PURGED

    @staticmethod
    def retention(settings: Settings) -> timedelta:
        return timedelta(seconds=settings.session_retention_seconds)

    async def _delete(self, before: datetime) -> int | None:
        return await self._store.purge_sessions(ended_before=before, batch_size=PURGE_BATCH_SIZE)


class AuditPurger(Purger[AuditStore]):
    """Deletes audit events older than AUDIT_RETENTION_DAYS."""

    what = "audit"
    purged = EventKind.AUDIT_EVENTS_PURGED

    @staticmethod
    def retention(settings: Settings) -> timedelta:
        return timedelta(days=settings.audit_retention_days)

    async def _delete(self, before: datetime) -> int | None:
        return await self._store.purge_audit_events(before=before, batch_size=PURGE_BATCH_SIZE)


async def run_purges(purgers: Sequence[Purger[Any]], interval_seconds: float) -> None:
    """Run each purge in turn every `interval_seconds`, until cancelled."""
    # The first run falls at a random point of the first interval: replicas started
    # together do not all try at once, and a process restarted more often than the
    # interval still purges.
    delay = secrets.SystemRandom().uniform(0, interval_seconds)
    while True:
        await asyncio.sleep(delay)
        delay = interval_seconds
        for purger in purgers:
            # What was deleted is an event of the purger's; only the skips are logged here.
            try:
                deleted = await purger.purge()
            except StoreUnavailable:
                log.warning("%s purge skipped: store unavailable", purger.what)
                continue
            if deleted is None:
                log.info("%s purge skipped: another process is purging", purger.what)


@asynccontextmanager
async def periodic_purge(
    purgers: Sequence[Purger[Any]], interval_seconds: float
) -> AsyncIterator[None]:
    """Run the purges in the background while the block runs; 0 means never."""
    if interval_seconds <= 0:
        yield
        return
    async with in_background(run_purges(purgers, interval_seconds), name="purge"):
        yield
