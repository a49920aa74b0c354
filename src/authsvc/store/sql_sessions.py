"""The sessions half of `SqlStore`: open, rotate, revoke, list and purge refresh sessions."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.sql import ColumnElement, Select

from authsvc.store.engine import Database
from authsvc.store.group_commit import GroupCommitWriter, Steps, run_steps
from authsvc.store.models import UTCDateTime, sessions
from authsvc.store.purge import purge_ended_sessions
from authsvc.store.records import NewSession, OpenedSession, RotateOutcome, Rotation, SessionRecord
from authsvc.store.sql_login import (
    ACCOUNT,
    INSERT_SESSION,
    admits,
    asyncpg_opening,
    beyond_cap,
    open_steps,
    session_columns,
)
from authsvc.store.sql_rotation import (
    after_failed_swap,
    asyncpg_swap,
    rotated,
    rotation_steps,
    session_record,
    swap,
)

# Revoked sessions read per fetch when a worker loads them at start (and at every resubscribe).
# Each batch's rows are gone before the next arrives; a larger batch spreads them over more of
# the allocator's pools, which stay with the worker once a long-lived object lands in one:
# loading 10,000 in one go left a starting worker 3.5 MiB larger than loading them 256 at a time.
REVOKED_BATCH_ROWS = 256


def count_active_statement(now: datetime) -> Select[int]:
    """Counted at every scrape: answered from ix_sessions_live_by_expiry alone, whose partial
    condition keeps the ended sessions awaiting the purge out of it."""
    return (
        select(func.count())
        .select_from(sessions)
        .where(
            sessions.c.revoked_at.is_(None),
            sessions.c.idle_expires_at > now,
            sessions.c.absolute_expires_at > now,
        )
    )


class SqlSessionStore:
    """One method, one transaction."""

    def __init__(self, db: Database, group_commit: GroupCommitWriter | None = None) -> None:
        self._db = db
        # SQLite files: rotations are batched, many to a transaction (group_commit.py).
        self._group_commit = group_commit
        # PostgreSQL on asyncpg: a login's session opens on the driver (sql_login.py).
        self._driver_opening = asyncpg_opening(db)
        # And a rotation's swap (sql_rotation.py).
        self._driver_swap = asyncpg_swap(db)

    async def create_session(self, new: NewSession) -> SessionRecord:
        record = new.record()
        async with self._db.write() as conn:
            await conn.execute(INSERT_SESSION, session_columns(record))
        return record

    async def open_session(
        self, new: NewSession, *, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        if self._group_commit is not None:
            # Batched with rotations and other logins, off the event loop (group_commit.py).
            def unit() -> Steps[OpenedSession | None]:
                return open_steps(new, verified_hash=verified_hash, max_live=max_live)

            return await self._group_commit.run(unit)
        if self._driver_opening is not None:
            return await self._driver_opening.open(
                new, verified_hash=verified_hash, max_live=max_live
            )
        record = new.record()
        now = new.created_at
        async with self._db.write() as conn:
            account = (await conn.execute(ACCOUNT, {"owner": new.user_id})).mappings().first()
            if not admits(account, verified_hash):
                return None
            await conn.execute(INSERT_SESSION, session_columns(record))
            # One statement for every session past the cap, however many.
            ended = await conn.execute(
                update(sessions)
                .where(sessions.c.id.in_(beyond_cap(max_live - 1)))
                .values(revoked_at=now, revoked_reason="session_limit")
                .returning(sessions.c.id),
                {"owner": new.user_id, "opened_id": new.id, "now": now},
            )
            return OpenedSession(record, tuple(row.id for row in ended))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return session_record(row._mapping) if row else None

    async def rotate(self, session_id: str, rotation: Rotation) -> RotateOutcome:
        def unit() -> Steps[RotateOutcome]:
            return rotation_steps(session_id, rotation)

        if self._group_commit is not None:
            return await self._group_commit.run(unit)
        if self._db.engine.dialect.name != "postgresql":
            async with self._db.write() as conn:
                return await run_steps(conn, unit())
        # The swap is one statement, atomic by itself: committed on its own it costs one
        # round trip instead of BEGIN, UPDATE and COMMIT. Only a swap that matched nothing
        # needs a transaction for the rest; under READ COMMITTED each statement sees the
        # latest commits anyway, so the rest sees what it would have after the swap.
        if (outcome := await self._swap(session_id, rotation)) is not None:
            return outcome
        async with self._db.write() as conn:
            return await run_steps(conn, after_failed_swap(session_id, rotation))

    async def _swap(self, session_id: str, rotation: Rotation) -> RotateOutcome | None:
        """A rotation's swap committed on its own; None when it matched nothing."""
        if self._driver_swap is not None:
            return await self._driver_swap.swap(session_id, rotation)
        async with self._db.autocommit() as conn:
            swapped = (await conn.execute(*swap(session_id, rotation))).mappings().first()
        return None if swapped is None else rotated(swapped)

    async def revoke_session(
        self, session_id: str, *, reason: str, now: datetime, user_id: str | None = None
    ) -> bool:
        conditions = [sessions.c.id == session_id, sessions.c.revoked_at.is_(None)]
        if user_id is not None:
            conditions.append(sessions.c.user_id == user_id)
        return bool(await self._revoke_where(conditions, reason=reason, now=now))

    async def revoke_user_sessions(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> list[str]:
        conditions = [sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)]
        if keep is not None:
            conditions.append(sessions.c.id != keep)
        return await self._revoke_where(conditions, reason=reason, now=now)

    async def _revoke_where(
        self, conditions: list[ColumnElement[bool]], *, reason: str, now: datetime
    ) -> list[str]:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(sessions)
                .where(*conditions)
                .values(revoked_at=now, revoked_reason=reason)
                .returning(sessions.c.id)
            )
            return [row.id for row in result]

    async def list_active_sessions(
        self,
        user_id: str,
        *,
        now: datetime,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[SessionRecord]:
        query = (
            select(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.idle_expires_at > now,
                sessions.c.absolute_expires_at > now,
            )
            .order_by(sessions.c.last_used_at.desc(), sessions.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            # Keyset pagination: the index continues where the last page stopped, so a deep
            # page costs what the first one does.
            query = query.where(
                tuple_(sessions.c.last_used_at, sessions.c.id)
                < tuple_(bindparam("after_used", after[0], type_=UTCDateTime()), after[1])
            )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
        return [session_record(row._mapping) for row in rows]

    async def purge_sessions(self, *, ended_before: datetime, batch_size: int) -> int | None:
        return await purge_ended_sessions(
            self._db.engine, self._db.write, ended_before=ended_before, batch_size=batch_size
        )

    async def revoked_since(self, since: datetime) -> AsyncGenerator[tuple[str, datetime], None]:
        statement = select(sessions.c.id, sessions.c.revoked_at).where(
            sessions.c.revoked_at >= since
        )
        async with self._db.read() as conn:
            rows = await conn.stream(statement.execution_options(yield_per=REVOKED_BATCH_ROWS))
            async for row in rows:
                yield row.id, row.revoked_at

    async def count_active_sessions(self, *, now: datetime) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(count_active_statement(now))
        return int(count or 0)
