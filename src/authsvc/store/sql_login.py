"""Opening a session at login in SQL: the prebuilt statements and the opening as steps.

On a SQLite file the steps run in the group-commit writer (group_commit.py), batched with
rotations and other logins, off the event loop; elsewhere `SqlSessionStore.open_session`
runs the same checks on an async connection.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from authsvc.amr import encode_amr
from authsvc.store.group_commit import Steps
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


def session_columns(record: SessionRecord) -> dict[str, Any]:
    """A session's row, column by column."""
    values = {name: getattr(record, name) for name in SessionRecord.__slots__}
    values["amr"] = encode_amr(record.amr)
    return values


def admits(account: Row[Any, Any] | Row[Any] | None, verified_hash: str) -> bool:
    """Whether the account still stands and still has the password just verified.

    Disabling takes the same row lock as the opening: no session opens after it committed."""
    return (
        account is not None
        and account.disabled_at is None
        and secrets.compare_digest(account.password_hash, verified_hash)
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
        ended.append(row.id)
    return OpenedSession(record, tuple(ended))
