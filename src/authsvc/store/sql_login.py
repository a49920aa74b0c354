"""Opening a session at login in SQL: the prebuilt statements and the opening as steps.

On a SQLite file the steps run in the group-commit writer (group_commit.py), batched with
rotations and other logins, off the event loop. On PostgreSQL through asyncpg the opening is
`AsyncpgOpening`: the same checks in three round trips on the driver itself. Elsewhere
`SqlSessionStore.open_session` runs them on an async connection.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from authsvc.amr import encode_amr
from authsvc.store.driver import Query, asyncpg_connection, on_asyncpg
from authsvc.store.engine import Database
from authsvc.store.group_commit import StepRow, Steps
from authsvc.store.models import UTCDateTime, sessions, users
from authsvc.store.records import NewSession, OpenedSession, SessionRecord

_NOW = bindparam("now", type_=UTCDateTime())
# Built once, every value a bound parameter: composing them anew costs more CPU than running
# them does.

# The row lock (PostgreSQL; SQLite's write transaction serialises everything) makes a password
# change and other logins of this user wait for this transaction, so the hash compared here
# stays the user's until the session is in, and two logins never both count themselves under
# the cap.
ACCOUNT = (
    select(users.c.password_hash, users.c.disabled_at)
    .where(users.c.id == bindparam("owner"))
    .with_for_update()
)
INSERT_SESSION = insert(sessions)
# A step reads its statement's first row back, so the step's insert returns one.
_INSERT_SESSION_STEP = INSERT_SESSION.returning(sessions.c.id)


def beyond_cap(keep: int | BindParameter[int]) -> Select[Any]:
    """The live sessions of the user past the `keep` most recently used, the new one aside."""
    return (
        select(sessions.c.id)
        .where(
            sessions.c.user_id == bindparam("owner"),
            sessions.c.revoked_at.is_(None),
            sessions.c.idle_expires_at > _NOW,
            sessions.c.absolute_expires_at > _NOW,
            sessions.c.id != bindparam("opened_id"),
        )
        .order_by(sessions.c.last_used_at.desc(), sessions.c.id.desc())
        .offset(keep)
    )


# A step gets one row back: the sessions past the cap end one per statement, the first
# beyond it each time, until none is left (normally one, the least recently used).
_END_ONE_BEYOND_CAP = (
    update(sessions)
    .where(
        sessions.c.id == beyond_cap(bindparam("keep", type_=Integer())).limit(1).scalar_subquery()
    )
    .values(revoked_at=_NOW, revoked_reason="session_limit")
    .returning(sessions.c.id)
)


# The session's insert and the cap in one statement, for the driver: the UPDATE's snapshot
# is taken after ACCOUNT's lock was granted (READ COMMITTED, a statement of its own), so it
# sees every session a login that held the lock before committed. It cannot see the row its
# own CTE inserts, and needs not: the cap leaves the new session aside anyway.
_NEW = "new_"
_OPENED = (
    insert(sessions)
    .values(
        {
            name: bindparam(_NEW + name, type_=sessions.c[name].type)
            for name in SessionRecord.__slots__
        }
    )
    .returning(sessions.c.id)
    .cte("opened")
)
_INSERT_AND_CAP = (
    update(sessions)
    .where(sessions.c.id.in_(beyond_cap(bindparam("keep", type_=Integer()))))
    .values(revoked_at=_NOW, revoked_reason="session_limit")
    .returning(sessions.c.id)
    .add_cte(_OPENED)
)


def session_columns(record: SessionRecord) -> dict[str, Any]:
    """A session's row, column by column."""
    values = {name: getattr(record, name) for name in SessionRecord.__slots__}
    values["amr"] = encode_amr(record.amr)
    return values


def admits(account: StepRow | None, verified_hash: str) -> bool:
    """Whether the account (ACCOUNT's row) still stands and still has the password just
    verified.

    Disabling takes the same row lock as the opening: no session opens after it committed."""
    return account is not None and admits_values(
        account["password_hash"], account["disabled_at"], verified_hash
    )


def open_steps(
    new: NewSession, *, verified_hash: str, max_live: int
) -> Steps[OpenedSession | None]:
    """The opening, a statement at a time, all in the caller's write transaction: None when
    the account no longer admits `verified_hash` (nothing is written then)."""
    account = yield ACCOUNT, {"owner": new.user_id}
    if not admits(account, verified_hash):
        return None
    record = new.record()
    yield _INSERT_SESSION_STEP, session_columns(record)
    cap = {"owner": new.user_id, "opened_id": new.id, "now": new.created_at, "keep": max_live - 1}
    ended: list[str] = []
    while (row := (yield _END_ONE_BEYOND_CAP, cap)) is not None:
        ended.append(row["id"])
    return OpenedSession(record, tuple(ended))


class AsyncpgOpening:
    """The opening on asyncpg itself: BEGIN, ACCOUNT, the insert and the cap in one statement,
    COMMIT. SQLAlchemy's async layer costs each statement more event-loop CPU than the round
    trip does."""

    def __init__(self, db: Database) -> None:
        self._db = db
        dialect = db.engine.dialect
        self._account = Query(ACCOUNT, dialect)
        self._insert_and_cap = Query(_INSERT_AND_CAP, dialect)

    async def open(
        self, new: NewSession, *, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        """As `SessionStore.open_session`. Raises: StoreUnavailable."""
        async with asyncpg_connection(self._db) as driver, driver.transaction():
            return await self._open(driver, new, verified_hash, max_live)

    async def _open(
        self, driver: Any, new: NewSession, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        owner = {"owner": new.user_id}
        raw = await driver.fetchrow(self._account.sql, *self._account.args(owner))
        if raw is None:
            return None
        password_hash, disabled_at = self._account.decode(raw)
        if not admits_values(password_hash, disabled_at, verified_hash):
            return None
        record = new.record()
        params: Mapping[str, Any] = {
            **{_NEW + name: value for name, value in session_columns(record).items()},
            "owner": new.user_id,
            "opened_id": new.id,
            "now": new.created_at,
            "keep": max_live - 1,
        }
        ended = await driver.fetch(self._insert_and_cap.sql, *self._insert_and_cap.args(params))
        return OpenedSession(record, tuple(row[0] for row in ended))


def admits_values(password_hash: str, disabled_at: object, verified_hash: str) -> bool:
    """`admits` on ACCOUNT's two columns as values."""
    return disabled_at is None and secrets.compare_digest(password_hash, verified_hash)


def asyncpg_opening(db: Database) -> AsyncpgOpening | None:
    """The driver's opening for PostgreSQL on asyncpg; None elsewhere."""
    return AsyncpgOpening(db) if on_asyncpg(db) else None
