"""A refresh session's rotation in SQL: the prebuilt statements and the rotation as steps.

The steps run whole inside one write transaction (`rotation_steps`: SQLite's group commit, see
group_commit.py), or as the swap alone followed, only when it matched nothing, by the rest
(`swap`, `rotated`, `after_failed_swap`: PostgreSQL, see `SqlSessionStore.rotate`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.sql.elements import Label

from authsvc.amr import decode_amr
from authsvc.store.driver import Query, asyncpg_connection, on_asyncpg
from authsvc.store.engine import Database
from authsvc.store.group_commit import Statement, StepRow, Steps
from authsvc.store.models import UTCDateTime, sessions, users
from authsvc.store.records import RotateOutcome, RotateResult, Rotation, SessionRecord
from authsvc.store.sql_users import decode_roles


def session_record(row: StepRow) -> SessionRecord:
    values = {name: row[name] for name in SessionRecord.__slots__}
    values["amr"] = decode_amr(values["amr"])
    return SessionRecord(**values)


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


def _swap_params(session_id: str, rotation: Rotation) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "presented": rotation.presented_hash,
        "replacement": rotation.replacement_hash,
        "now": rotation.now,
        "idle_deadline": rotation.idle_deadline,
        "new_user_agent": rotation.user_agent,
        "new_ip": rotation.ip,
    }


def swap(session_id: str, rotation: Rotation) -> Statement:
    """The conditional UPDATE: it matches only if the presented token is still current, so
    of any number of concurrent presentations exactly one swaps."""
    return _ROTATE, _swap_params(session_id, rotation)


def rotated(swapped: StepRow) -> RotateOutcome:
    """The outcome of a swap that matched (its row by column name): the session as it now
    stands."""
    return RotateOutcome(
        RotateResult.ROTATED,
        session_record(swapped),
        swapped["username"],
        decode_roles(swapped["roles"]),
    )


class AsyncpgSwap:
    """The swap on asyncpg itself, one prepared statement committed on its own: SQLAlchemy's
    async layer cost the statement more event-loop CPU than its round trip."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._query = Query(_ROTATE, db.engine.dialect)

    async def swap(self, session_id: str, rotation: Rotation) -> RotateOutcome | None:
        """The outcome of a swap that matched; None when it matched nothing.
        Raises: StoreUnavailable."""
        query = self._query
        async with asyncpg_connection(self._db) as driver:
            raw = await driver.fetchrow(query.sql, *query.args(_swap_params(session_id, rotation)))
        if raw is None:
            return None
        return rotated(query.named(query.decode(raw)))


def asyncpg_swap(db: Database) -> AsyncpgSwap | None:
    """The driver's swap for PostgreSQL on asyncpg; None elsewhere."""
    return AsyncpgSwap(db) if on_asyncpg(db) else None


def rotation_steps(session_id: str, presented: Rotation) -> Steps[RotateOutcome]:
    """One rotation, a statement at a time, all in the caller's write transaction."""
    swapped = yield swap(session_id, presented)
    if swapped is not None:
        return rotated(swapped)
    return (yield from after_failed_swap(session_id, presented))


def after_failed_swap(session_id: str, presented: Rotation) -> Steps[RotateOutcome]:
    """Why the presented token did not swap: a grace replay, reuse (the session is revoked
    here), an ended or an unknown session."""
    now = presented.now
    row = yield _CURRENT, {"session_id": session_id}
    if row is None:
        return RotateOutcome(RotateResult.UNKNOWN, None)
    current = session_record(row)
    if not current.is_active(now):
        return RotateOutcome(RotateResult.ENDED, current)
    if (
        current.previous_token_hash == presented.presented_hash
        and current.rotated_at is not None
        and (now - current.rotated_at).total_seconds() <= presented.grace_seconds
    ):
        return RotateOutcome(
            RotateResult.GRACE, current, row["username"], decode_roles(row["roles"])
        )

    # A superseded token outside the grace window: someone kept a copy. Revoke the whole
    # family in this same transaction (OAuth 2.0 Security BCP §4.14.2).
    revoked = yield _REVOKE_REUSED, {"session_id": session_id, "now": now}
    return RotateOutcome(RotateResult.REUSED, session_record(revoked) if revoked else current)
