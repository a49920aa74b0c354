"""Hot reads in as few driver round trips as each backend allows.

Through SQLAlchemy's async connection a read is a pool checkout, BEGIN, the SELECT, its fetch
and a ROLLBACK, each a separate hop to aiosqlite's thread or to the server: about 0.5 to 1 ms
of event-loop CPU for one row. Here a prebuilt SELECT is compiled once and run on the driver
itself, outside any transaction:

- SQLite in a file: one hop to a reader thread of our own, whose connection is in autocommit
  mode, so the SELECT is its own read transaction (in WAL mode it never waits for a writer).
- PostgreSQL (asyncpg): one `fetchrow` on a connection checked out of the engine's pool; no
  transaction is begun, so none is rolled back when it goes back.
- Anything else (SQLite in memory, which another connection would not see): the engine's
  read connection.

Values go in and come back as SQLAlchemy would convert them (`driver.Query`), so datetimes
are the same aware UTC values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

from authsvc.errors import StoreUnavailable
from authsvc.store.driver import Query, Row, asyncpg_connection, on_asyncpg
from authsvc.store.engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_CACHE_PRAGMA, Database

if TYPE_CHECKING:
    import sqlite3


class DriverReads(Protocol):
    def query(self, statement: Select[Any]) -> Query:
        """`statement` prepared for this reader's backend; build once, run many times."""
        ...

    async def row(self, query: Query, params: Mapping[str, Any]) -> Row | None:
        """The first row of `query`, decoded. Raises: StoreUnavailable."""
        ...

    async def close(self) -> None: ...


def driver_reads(db: Database) -> DriverReads:
    """The cheapest reader for `db`'s backend."""
    engine = db.engine
    url = engine.url
    if on_asyncpg(db):
        return _AsyncpgReads(db)
    if (
        engine.dialect.name == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not url.query
    ):
        return _SqliteReads(str(url.database), engine.dialect)
    return _EngineReads(db)


class _SqliteReads:
    """One thread and its own connection; concurrent reads queue for it, each taking tens
    of microseconds, less than the hop that brings them there."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        # Imported here: the sqlite3 module and its library are a megabyte and more of every
        # PostgreSQL worker's memory, which never reads this way.
        import sqlite3

        self._connect = sqlite3.connect
        self._errors = (sqlite3.OperationalError, sqlite3.InterfaceError, OSError)
        self._path = path
        self._dialect = dialect
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched by the reader thread only

    def query(self, statement: Select[Any]) -> Query:
        return Query(statement, self._dialect)

    async def row(self, query: Query, params: Mapping[str, Any]) -> Row | None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="authsvc-read")
        loop = asyncio.get_running_loop()
        try:
            raw = await loop.run_in_executor(
                self._executor, self._fetch, query.sql, query.args(params)
            )
        except self._errors as exc:
            raise StoreUnavailable("database unavailable") from exc
        return None if raw is None else query.decode(raw)

    def _fetch(self, sql: str, args: tuple[Any, ...]) -> Any:
        conn = self._conn
        if conn is None:
            conn = self._connect(self._path, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA query_only=ON")
                conn.execute(SQLITE_CACHE_PRAGMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        try:
            return conn.execute(sql, args).fetchone()
        except self._errors:
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


class _PoolReads:
    """Reads on connections of the engine's pool, disposed of with the engine."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def query(self, statement: Select[Any]) -> Query:
        return Query(statement, self._db.engine.dialect)

    async def close(self) -> None:
        """Nothing of its own to close."""


class _AsyncpgReads(_PoolReads):
    async def row(self, query: Query, params: Mapping[str, Any]) -> Row | None:
        async with asyncpg_connection(self._db) as driver:
            raw = await driver.fetchrow(query.sql, *query.args(params))
        return None if raw is None else query.decode(raw)


class _EngineReads(_PoolReads):
    async def row(self, query: Query, params: Mapping[str, Any]) -> Row | None:
        async with self._db.read() as conn:
            # Only reads come here, and `query()` takes nothing but SELECTs.
            statement = cast(Select[Any], query.statement)
            row = (await conn.execute(statement, dict(params))).first()
        return None if row is None else tuple(row)
