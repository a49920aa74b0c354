"""The sessions half of `SqlStore`: open, rotate, revoke, list and purge refresh sessions."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, tuple_, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.elements import Label

from authsvc.amr import decode_amr, encode_amr
from authsvc.store.engine import Database
from authsvc.store.group_commit import GroupCommitWriter, Steps, run_steps
from authsvc.store.models import UTCDateTime, sessions, users
from authsvc.store.purge import purge_ended_sessions
from authsvc.store.records import (
    NewSession,
    OpenedSession,
    RotateOutcome,
    RotateResult,
    Rotation,
    SessionRecord,
)
from authsvc.store.sql_users import decode_roles


def _session(row: RowMapping) -> SessionRecord:
    values = {name: row[name] for name in SessionRecord.__slots__}
    values["amr"] = decode_amr(values["amr"])
    return SessionRecord(**values)


def _columns(record: SessionRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in SessionRecord.__slots__}
    values["amr"] = encode_amr(record.amr)
    return values


def _account(column: str) -> Label[Any]:
    return (
        select(users.c[column])
        .where(users.c.id == sessions.c.user_id)
        .correlate(sessions)
        .scalar_subquery()
        .label(column)
    )


# The new access token names the user and their current roles: the rotation reads both in
# its own statement, so a role taken away is gone from the next access token.
_USERNAME = _account("username")
_ROLES = _account("roles")
_NOW = bindparam("now", type_=UTCDateTime())
_IDLE_DEADLINE = bindparam("idle_deadline", type_=UTCDateTime())
# Built once, with every value a bound parameter: composing this statement anew took more CPU
# than the rest of a rotation's Python code.
_ROTATE = (
    update(sessions)
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.token_hash == bindparam("presented"),
        sessions.c.revoked_at.is_(None),
        sessions.c.idle_expires_at > _NOW,
        sessions.c.absolute_expires_at > _NOW,
    )
    .values(
        token_hash=bindparam("replacement"),
        previous_token_hash=bindparam("presented"),
        rotated_at=_NOW,
        last_used_at=_NOW,
        # Renewal never reaches past the absolute cap, so rotating forever cannot keep a
        # session alive forever.
        idle_expires_at=case(
            (sessions.c.absolute_expires_at < _IDLE_DEADLINE, sessions.c.absolute_expires_at),
            else_=_IDLE_DEADLINE,
        ),
        generation=sessions.c.generation + 1,
        user_agent=bindparam("new_user_agent"),
        ip=bindparam("new_ip"),
    )
    .returning(*sessions.c, _USERNAME, _ROLES)
)


_CURRENT = select(*sessions.c, _USERNAME, _ROLES).where(sessions.c.id == bindparam("session_id"))
_REVOKE_REUSED = (
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"), sessions.c.revoked_at.is_(None))
    .values(revoked_at=_NOW, revoked_reason="reuse")
    .returning(*sessions.c)
)


def _rotation(session_id: str, rotation: Rotation) -> Steps[RotateOutcome]:
    """One rotation, a statement at a time, all in the caller's write transaction."""
    now = rotation.now
    # The swap happens only if the presented token is still current: of any number of
    # concurrent presentations, exactly one matches the WHERE clause of _ROTATE.
    swapped = yield (
        _ROTATE,
        {
            "session_id": session_id,
            "presented": rotation.presented_hash,
            "replacement": rotation.replacement_hash,
            "now": now,
            "idle_deadline": rotation.idle_deadline,
            "new_user_agent": rotation.user_agent,
            "new_ip": rotation.ip,
        },
    )
    if swapped is not None:
        return RotateOutcome(
            RotateResult.ROTATED,
            _session(swapped._mapping),
            swapped.username,
            decode_roles(swapped.roles),
        )

    row = yield _CURRENT, {"session_id": session_id}
    if row is None:
        return RotateOutcome(RotateResult.UNKNOWN, None)
    current = _session(row._mapping)
    if not current.is_active(now):
        return RotateOutcome(RotateResult.ENDED, current)
    if (
        current.previous_token_hash == rotation.presented_hash
        and current.rotated_at is not None
        and (now - current.rotated_at).total_seconds() <= rotation.grace_seconds
    ):
        return RotateOutcome(RotateResult.GRACE, current, row.username, decode_roles(row.roles))

    # A superseded token outside the grace window: someone kept a copy. Revoke the whole
    # family in this same transaction (OAuth 2.0 Security BCP §4.14.2).
    revoked = yield _REVOKE_REUSED, {"session_id": session_id, "now": now}
    return RotateOutcome(RotateResult.REUSED, _session(revoked._mapping) if revoked else current)


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

    async def create_session(self, new: NewSession) -> SessionRecord:
        record = new.record()
        async with self._db.write() as conn:
            await conn.execute(insert(sessions).values(**_columns(record)))
        return record

    async def open_session(
        self, new: NewSession, *, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        record = new.record()
        now = new.created_at
        async with self._db.write() as conn:
            # The row lock (PostgreSQL; SQLite's write transaction serialises everything) makes
            # a password change and other logins of this user wait for this transaction, so
            # the hash compared here stays the user's until the session is in, and two logins
            # never both count themselves under the cap.
            account = (
                await conn.execute(
                    select(users.c.password_hash, users.c.disabled_at)
                    .where(users.c.id == new.user_id)
                    .with_for_update()
                )
            ).first()
            # Disabling takes the same row lock: no session opens after it committed.
            if (
                account is None
                or account.disabled_at is not None
                or not secrets.compare_digest(account.password_hash, verified_hash)
            ):
                return None
            await conn.execute(insert(sessions).values(**_columns(record)))
            beyond_cap = (
                select(sessions.c.id)
                .where(
                    sessions.c.user_id == new.user_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.idle_expires_at > now,
                    sessions.c.absolute_expires_at > now,
                    sessions.c.id != new.id,
                )
                .order_by(sessions.c.last_used_at.desc(), sessions.c.id.desc())
                .offset(max_live - 1)
            )
            ended = await conn.execute(
                update(sessions)
                .where(sessions.c.id.in_(beyond_cap))
                .values(revoked_at=now, revoked_reason="session_limit")
                .returning(sessions.c.id)
            )
            return OpenedSession(record, tuple(row.id for row in ended))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return _session(row._mapping) if row else None

    async def rotate(self, session_id: str, rotation: Rotation) -> RotateOutcome:
        def unit() -> Steps[RotateOutcome]:
            return _rotation(session_id, rotation)

        if self._group_commit is not None:
            return await self._group_commit.run(unit)
        async with self._db.write() as conn:
            return await run_steps(conn, unit())

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
        return [_session(row._mapping) for row in rows]

    async def purge_sessions(self, *, ended_before: datetime, batch_size: int) -> int | None:
        return await purge_ended_sessions(
            self._db.engine, self._db.write, ended_before=ended_before, batch_size=batch_size
        )

    async def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(sessions.c.id, sessions.c.revoked_at).where(sessions.c.revoked_at >= since)
            )
        return [(row.id, row.revoked_at) for row in rows]

    async def count_active_sessions(self, *, now: datetime) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(count_active_statement(now))
        return int(count or 0)
