"""`SqlStore`: the storage interface on SQLAlchemy 2 async (SQLite now, PostgreSQL later)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    bindparam,
    case,
    event,
    func,
    insert,
    make_url,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Select

from authsvc.errors import StoreUnavailable, UsernameTaken
from authsvc.store.base import (
    NewSession,
    OpenedSession,
    RotateOutcome,
    RotateResult,
    Rotation,
    SessionRecord,
    UserProfile,
    UserRecord,
)
from authsvc.store.models import UTCDateTime, sessions, users
from authsvc.store.purge import purge_ended_sessions
from authsvc.usernames import username_skeleton

# Errors that mean "the database is not answering right now", as opposed to bad data.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, OSError)

SQLITE_BUSY_TIMEOUT_MS = 10_000

# Profiles kept in memory per process; about 300 bytes each.
PROFILE_CACHE_SIZE = 10_000


class MissingDatabaseDirectory(Exception):
    """A SQLite file in a directory that does not exist: more likely a typo than a wish."""

    def __init__(self, directory: Path) -> None:
        super().__init__(f"directory {directory} does not exist")
        self.directory = directory


def create_engine(database_url: str, *, create_directories: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and explicit transaction control.

    Raises: MissingDatabaseDirectory when a SQLite file's directory is missing and
    `create_directories` is off.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        directory = Path(url.database).parent
        if create_directories:
            directory.mkdir(parents=True, exist_ok=True)
        elif not directory.is_dir():
            raise MissingDatabaseDirectory(directory)
    engine = create_async_engine(url, pool_pre_ping=url.get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    # WAL lets readers run beside the single writer; the busy timeout makes writers from other
    # processes queue instead of failing with "database is locked".
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so writes can BEGIN IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock in WAL
        # mode (SQLITE_BUSY_SNAPSHOT); writers take the lock up front so they queue instead.
        immediate = conn.get_execution_options().get("authsvc_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _user(row: Mapping[str, Any] | RowMapping) -> UserRecord:
    return UserRecord(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        password_changed_at=row["password_changed_at"],
    )


def _session(row: RowMapping) -> SessionRecord:
    return SessionRecord(**{name: row[name] for name in SessionRecord.__slots__})


def _new_record(new: NewSession) -> SessionRecord:
    return SessionRecord(
        id=new.id,
        user_id=new.user_id,
        token_hash=new.token_hash,
        previous_token_hash=None,
        rotated_at=None,
        generation=0,
        user_agent=new.user_agent,
        ip=new.ip,
        created_at=new.created_at,
        last_used_at=new.created_at,
        idle_expires_at=new.idle_expires_at,
        absolute_expires_at=new.absolute_expires_at,
        revoked_at=None,
        revoked_reason=None,
    )


def _columns(record: SessionRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in SessionRecord.__slots__}


# The new access token names the user: the rotation reads the name in its own statement.
_USERNAME = (
    select(users.c.username)
    .where(users.c.id == sessions.c.user_id)
    .correlate(sessions)
    .scalar_subquery()
    .label("username")
)
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
    .returning(*sessions.c, _USERNAME)
)


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


class SqlStore:
    """One method, one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite admits one writer at a time; queueing this process's writers on an asyncio
        # lock is fairer and cheaper than letting them spin in SQLite's busy handler.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else None
        )
        self._profiles: OrderedDict[str, UserProfile] = OrderedDict()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        lock: AbstractAsyncContextManager[Any] = self._write_lock or nullcontext()
        try:
            async with lock, self._engine.connect() as conn:
                await conn.execution_options(authsvc_write=True)
                async with conn.begin():
                    yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("SELECT 1"))

    async def schema_revision(self) -> str | None:
        async with self._read() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def close(self) -> None:
        await self._engine.dispose()

    # users

    async def create_user(
        self, *, username: str, email: str | None, password_hash: str, now: datetime
    ) -> UserRecord:
        values = {
            "id": str(uuid.uuid4()),
            "username": username,
            "username_skeleton": username_skeleton(username),
            "email": email,
            "password_hash": password_hash,
            "created_at": now,
            "password_changed_at": now,
        }
        try:
            async with self._write() as conn:
                await conn.execute(insert(users).values(**values))
        except IntegrityError as exc:
            raise UsernameTaken(username) from exc
        return _user(values)

    async def is_username_taken(self, username: str) -> bool:
        query = select(users.c.id).where(
            or_(
                users.c.username == username,
                users.c.username_skeleton == username_skeleton(username),
            )
        )
        async with self._read() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def get_user(self, user_id: str) -> UserRecord | None:
        async with self._read() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row._mapping) if row else None

    async def get_profile(self, user_id: str) -> UserProfile | None:
        # Usernames, e-mail addresses and creation times are never updated and accounts are
        # never deleted, so a profile read once is right in every replica for good: no
        # invalidation to miss. (Deleting an account must revoke its sessions, which every
        # replica checks before this is asked.) Least recently used profiles go first.
        profile = self._profiles.get(user_id)
        if profile is not None:
            self._profiles.move_to_end(user_id)
            return profile
        columns = (users.c.id, users.c.username, users.c.email, users.c.created_at)
        async with self._read() as conn:
            row = (await conn.execute(select(*columns).where(users.c.id == user_id))).first()
        if row is None:
            return None
        profile = UserProfile(
            id=row.id, username=row.username, email=row.email, created_at=row.created_at
        )
        self._profiles[user_id] = profile
        if len(self._profiles) > PROFILE_CACHE_SIZE:
            self._profiles.popitem(last=False)
        return profile

    async def get_user_by_username(self, username: str) -> UserRecord | None:
        async with self._read() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return _user(row._mapping) if row else None

    async def list_users(self) -> list[UserRecord]:
        async with self._read() as conn:
            rows = await conn.execute(select(users).order_by(users.c.username))
        return [_user(row._mapping) for row in rows]

    async def set_password_hash(
        self,
        user_id: str,
        password_hash: str,
        *,
        expected_hash: str | None = None,
        changed_at: datetime | None,
    ) -> bool:
        values: dict[str, Any] = {"password_hash": password_hash}
        if changed_at is not None:
            values["password_changed_at"] = changed_at
        statement = update(users).where(users.c.id == user_id)
        if expected_hash is not None:
            statement = statement.where(users.c.password_hash == expected_hash)
        async with self._write() as conn:
            result = await conn.execute(statement.values(**values))
        return bool(result.rowcount)

    # sessions

    async def create_session(self, new: NewSession) -> SessionRecord:
        record = _new_record(new)
        async with self._write() as conn:
            await conn.execute(insert(sessions).values(**_columns(record)))
        return record

    async def open_session(
        self, new: NewSession, *, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        record = _new_record(new)
        now = new.created_at
        async with self._write() as conn:
            # The row lock (PostgreSQL; SQLite's write transaction serialises everything) makes
            # a password change and other logins of this user wait for this transaction, so
            # the hash compared here stays the user's until the session is in, and two logins
            # never both count themselves under the cap.
            current_hash = await conn.scalar(
                select(users.c.password_hash).where(users.c.id == new.user_id).with_for_update()
            )
            if current_hash is None or not secrets.compare_digest(current_hash, verified_hash):
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
        async with self._read() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return _session(row._mapping) if row else None

    async def rotate(self, session_id: str, rotation: Rotation) -> RotateOutcome:
        now = rotation.now
        async with self._write() as conn:
            # The swap happens only if the presented token is still current: of any number of
            # concurrent presentations, exactly one matches the WHERE clause of _ROTATE.
            swapped = (
                await conn.execute(
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
            ).first()
            if swapped is not None:
                return RotateOutcome(
                    RotateResult.ROTATED, _session(swapped._mapping), swapped.username
                )

            row = (
                await conn.execute(
                    select(*sessions.c, _USERNAME).where(sessions.c.id == session_id)
                )
            ).first()
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
                return RotateOutcome(RotateResult.GRACE, current, row.username)

            # A superseded token outside the grace window: someone kept a copy. Revoke the
            # whole family in this same transaction (OAuth 2.0 Security BCP §4.14.2).
            revoked = (
                await conn.execute(
                    update(sessions)
                    .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_reason="reuse")
                    .returning(*sessions.c)
                )
            ).first()
            return RotateOutcome(
                RotateResult.REUSED, _session(revoked._mapping) if revoked else current
            )

    async def revoke_session(
        self, session_id: str, *, reason: str, now: datetime, user_id: str | None = None
    ) -> bool:
        conditions = [sessions.c.id == session_id, sessions.c.revoked_at.is_(None)]
        if user_id is not None:
            conditions.append(sessions.c.user_id == user_id)
        async with self._write() as conn:
            result = await conn.execute(
                update(sessions)
                .where(*conditions)
                .values(revoked_at=now, revoked_reason=reason)
                .returning(sessions.c.id)
            )
            return result.first() is not None

    async def revoke_user_sessions(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> list[str]:
        conditions = [sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)]
        if keep is not None:
            conditions.append(sessions.c.id != keep)
        async with self._write() as conn:
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
        async with self._read() as conn:
            rows = await conn.execute(query)
        return [_session(row._mapping) for row in rows]

    async def purge_sessions(self, *, ended_before: datetime, batch_size: int) -> int | None:
        try:
            return await purge_ended_sessions(
                self._engine, self._write, ended_before=ended_before, batch_size=batch_size
            )
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc

    async def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(sessions.c.id, sessions.c.revoked_at).where(sessions.c.revoked_at >= since)
            )
        return [(row.id, row.revoked_at) for row in rows]

    async def count_active_sessions(self, *, now: datetime) -> int:
        async with self._read() as conn:
            count = await conn.scalar(count_active_statement(now))
        return int(count or 0)
