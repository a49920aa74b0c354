"""Deleting ended sessions, deleted accounts and old audit events in small batches, one
process at a time.

Expired sessions are found among those not revoked by expiry (the idle expiry never passes the
absolute one, see the rotation in sql.py); one revoked after it expired goes with the revoked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from sqlalchemy import Table, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ColumnElement

from authsvc.errors import StoreUnavailable
from authsvc.store.engine import UNAVAILABLE_ERRORS
from authsvc.store.models import audit_events, sessions, users

# Arbitrary constants naming authsvc's purges among PostgreSQL advisory locks.
PURGE_LOCK_KEY = 0x61757468737670
AUDIT_PURGE_LOCK_KEY = 0x61757468617564

Batch = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


async def purge_ended_sessions(
    engine: AsyncEngine, write: Batch, *, ended_before: datetime, batch_size: int
) -> int | None:
    """Delete sessions revoked or expired before `ended_before`; how many, or None when
    another process is purging. `write` opens one write transaction (SQLite's, queued)."""
    doomed = (
        sessions.c.revoked_at < ended_before,
        sessions.c.revoked_at.is_(None) & (sessions.c.idle_expires_at < ended_before),
    )
    deleted = await purge_in_batches(
        engine, write, sessions, doomed, batch_size=batch_size, lock_key=PURGE_LOCK_KEY
    )
    if deleted is not None:
        # Deleted accounts go once their sessions have: those were revoked at the deletion,
        # so they ended before `ended_before` too, and no revocation still needed goes with
        # them. Few rows, so one statement.
        try:
            async with write() as conn:
                await conn.execute(delete(users).where(users.c.deleted_at < ended_before))
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc
    return deleted


async def purge_old_audit_events(
    engine: AsyncEngine, write: Batch, *, before: datetime, batch_size: int
) -> int | None:
    """Delete audit events that occurred before `before`; how many, or None when another
    process is purging them."""
    return await purge_in_batches(
        engine,
        write,
        audit_events,
        (audit_events.c.occurred_at < before,),
        batch_size=batch_size,
        lock_key=AUDIT_PURGE_LOCK_KEY,
    )


async def purge_in_batches(
    engine: AsyncEngine,
    write: Batch,
    table: Table,
    doomed: Sequence[ColumnElement[bool]],
    *,
    batch_size: int,
    lock_key: int,
) -> int | None:
    """Delete the rows of `table` matching any of `doomed`, one condition after the other,
    `batch_size` rows per transaction; how many, or None when another process holds
    `lock_key` (PostgreSQL).

    Raises: StoreUnavailable.
    """
    # A SQLite batch holds the one write lock, which other processes' writers only poll for:
    # pausing as long as each batch took leaves them at least half of the time.
    yields_lock = engine.dialect.name == "sqlite"
    key = table.c.id
    try:
        async with _purge_turn(engine, write, lock_key) as batch:
            if batch is None:
                return None
            deleted = 0
            for condition in doomed:
                while True:
                    started = time.monotonic()
                    # Small transactions: writers (logins, rotations) wait one batch at most.
                    async with batch() as conn:
                        chosen = select(key).where(condition).limit(batch_size)
                        result = await conn.execute(delete(table).where(key.in_(chosen)))
                    deleted += result.rowcount
                    if result.rowcount < batch_size:
                        break
                    await asyncio.sleep(time.monotonic() - started if yields_lock else 0)
            return deleted
    except UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable("database unavailable") from exc


@asynccontextmanager
async def _purge_turn(
    engine: AsyncEngine, write: Batch, lock_key: int
) -> AsyncIterator[Batch | None]:
    """Batches of one purge, or None when another process holds its PostgreSQL lock.

    On PostgreSQL one connection holds a session-level advisory lock for the whole purge, so
    replicas take turns instead of deleting the same rows side by side. SQLite serves one host:
    its write lock already lets one batch of one process run at a time, and deleting is
    idempotent, so processes sharing the file may interleave batches.
    """
    if engine.dialect.name != "postgresql":
        yield write
        return
    async with engine.connect() as conn:
        locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key})
        await conn.commit()
        if not locked:
            yield None
            return

        @asynccontextmanager
        async def batch() -> AsyncIterator[AsyncConnection]:
            async with conn.begin():
                yield conn

        try:
            yield batch
        finally:
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key})
                await conn.commit()
            except BaseException:
                # A connection that cannot confirm the unlock must not go back to the pool
                # still holding the lock: closing it releases the lock.
                await conn.invalidate()
                raise
