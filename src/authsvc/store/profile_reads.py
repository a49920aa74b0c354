"""The profile read of `/auth/me` in as few driver round trips as each backend allows.

Through SQLAlchemy's async connection a primary-key read is a pool checkout, BEGIN, the
SELECT, its fetch and a ROLLBACK, each a separate hop to aiosqlite's thread or to the server:
about 1 ms of CPU for six columns. Here the statement is compiled once and run on the driver
itself, outside any transaction:

- SQLite in a file: one hop to a reader thread of our own, whose connection is in autocommit
  mode, so the SELECT is its own read transaction (in WAL mode it never waits for a writer).
- PostgreSQL (asyncpg): one `fetchrow` on a connection checked out of the engine's pool; no
  transaction is begun, so none is rolled back when it goes back.
- Anything else (SQLite in memory, which another connection would not see): the engine's
  read connection.

Values come back as SQLAlchemy would give them: the columns' own result processors run on
the raw row, so the datetimes are the same aware UTC values.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from authsvc.errors import StoreUnavailable
from authsvc.store.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_CACHE_PRAGMA,
    UNAVAILABLE_ERRORS,
    Database,
)
from authsvc.store.models import users

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

# id, username, email, created_at, roles (as stored), email_verified_at
ProfileRow = tuple[Any, ...]

_PROFILE = select(
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.created_at,
    users.c.roles,
    users.c.email_verified_at,
).where(users.c.id == bindparam("user_id"), users.c.deleted_at.is_(None))

_SQLITE_ERRORS = (sqlite3.OperationalError, sqlite3.InterfaceError, OSError)


class ProfileReader(Protocol):
    async def read(self, user_id: str) -> ProfileRow | None:
        """The live account's profile columns. Raises: StoreUnavailable."""
        ...

    async def close(self) -> None: ...


def profile_reader(db: Database) -> ProfileReader:
    """The cheapest reader for `db`'s backend."""
    engine = db.engine
    url = engine.url
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
        return _AsyncpgReader(db, _Compiled(engine.dialect))
    if (
        engine.dialect.name == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not url.query
    ):
        return _SqliteReader(str(url.database), _Compiled(engine.dialect))
    return _EngineReader(db)


class _Compiled:
    """The statement as the driver takes it, and the decoding SQLAlchemy would apply."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = _PROFILE.compile(dialect=dialect)
        self.sql = str(compiled)
        self._processors: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in _PROFILE.selected_columns
        ]

    def decode(self, raw: Any) -> ProfileRow:
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._processors, raw, strict=True)
        )


class _SqliteReader:
    """One thread and its own connection; concurrent reads queue for it, each taking tens
    of microseconds, less than the hop that brings them there."""

    def __init__(self, path: str, compiled: _Compiled) -> None:
        self._path = path
        self._compiled = compiled
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched by the reader thread only

    async def read(self, user_id: str) -> ProfileRow | None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="authsvc-profile-read")
        loop = asyncio.get_running_loop()
        try:
            raw = await loop.run_in_executor(self._executor, self._fetch, user_id)
        except _SQLITE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc
        return None if raw is None else self._compiled.decode(raw)

    def _fetch(self, user_id: str) -> Any:
        conn = self._conn
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA query_only=ON")
                conn.execute(SQLITE_CACHE_PRAGMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        try:
            return conn.execute(self._compiled.sql, (user_id,)).fetchone()
        except _SQLITE_ERRORS:
            # A fresh connection for the next read, in case this one is what failed.
            self._disconnect()
            raise

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
            executor.shutdown(wait=False)


class _AsyncpgReader:
    def __init__(self, db: Database, compiled: _Compiled) -> None:
        # Imported here, where PostgreSQL is in use, rather than by every SQLite process too.
        import asyncpg

        self._db = db
        self._compiled = compiled
        self._errors = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

    async def read(self, user_id: str) -> ProfileRow | None:
        try:
            pooled: PoolProxiedConnection = await self._db.engine.raw_connection()
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc
        try:
            driver: asyncpg.Connection = pooled.driver_connection
            raw = await driver.fetchrow(self._compiled.sql, user_id)
        except BaseException as exc:
            # Interrupted mid-query (an error or a cancelled request): the connection's state
            # is unknown, so the pool drops it instead of handing it out again.
            await greenlet_spawn(pooled.invalidate, exc)
            await greenlet_spawn(pooled.close)
            if isinstance(exc, self._errors):
                raise StoreUnavailable("database unavailable") from exc
            raise
        await greenlet_spawn(pooled.close)
        return None if raw is None else self._compiled.decode(raw)

    async def close(self) -> None:
        """The connections belong to the engine's pool, disposed of with the engine."""


class _EngineReader:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(self, user_id: str) -> ProfileRow | None:
        async with self._db.read() as conn:
            row = (await conn.execute(_PROFILE, {"user_id": user_id})).first()
        return None if row is None else tuple(row)

    async def close(self) -> None:
        """Nothing of its own to close."""
