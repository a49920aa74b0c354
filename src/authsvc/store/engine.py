"""The SQL engine: SQLite's pragmas and locking, and the read and write connections of the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from authsvc.errors import StoreUnavailable

if TYPE_CHECKING:
    import sqlite3

# Errors that mean "the database is not answering right now", as opposed to bad data.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, OSError)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# How often a writer that found SQLite's write lock taken asks again (`write_transaction`).
SQLITE_LOCK_POLL_SECONDS = 0.0003
# SQLite's page cache per connection, in KiB (SQLite's default is about 2,000). Every pooled
# connection keeps its own, so the default costs a worker up to 2 MiB per connection it ever
# opened; the file's pages stay in the OS's cache, shared by all, and a page read from there
# costs a system call, not a disk read. `SQLITE_CACHE_PRAGMA` is what each connection runs.
SQLITE_CACHE_KIB = 256
SQLITE_CACHE_PRAGMA = f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"
# Connections one process keeps open (DATABASE_POOL_SIZE); see `create_engine`.
DEFAULT_POOL_SIZE = 10
# A pooled PostgreSQL connection unused for this long is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


class MissingDatabaseDirectory(Exception):
    """A SQLite file in a directory that does not exist: more likely a typo than a wish."""

    def __init__(self, directory: Path) -> None:
        super().__init__(f"directory {directory} does not exist")
        self.directory = directory


def create_engine(
    database_url: str, *, create_directories: bool = False, pool_size: int = DEFAULT_POOL_SIZE
) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and explicit transaction control.

    The pool holds up to `pool_size` connections and never more: a burst beyond it waits for
    a connection to come back (up to 30 s, then StoreUnavailable) instead of opening and
    closing overflow connections, which costs a PostgreSQL backend's start-up every time.

    Raises: MissingDatabaseDirectory when a SQLite file's directory is missing and
    `create_directories` is off.
    """
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    in_memory = sqlite and url.database in (None, "", ":memory:")
    if sqlite and not in_memory:
        directory = Path(str(url.database)).parent
        if create_directories:
            directory.mkdir(parents=True, exist_ok=True)
        elif not directory.is_dir():
            raise MissingDatabaseDirectory(directory)
    # In-memory SQLite has one connection, shared (StaticPool), and no pool to size.
    sizing = {} if in_memory else {"pool_size": pool_size, "max_overflow": 0}
    engine = create_async_engine(url, **sizing)
    if sqlite:
        configure_sqlite(engine.sync_engine)
    else:
        _ping_idle_connections(engine.sync_engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    # SQLAlchemy's pool_pre_ping pings at every checkout, and asyncpg's ping is three round
    # trips (BEGIN, a query, ROLLBACK): more than a rotation's own UPDATE. Connections in
    # use moments ago are handed out as they are; one that sat idle (where a restarted or
    # restarting server leaves dead ones) is pinged, and replaced if it does not answer. A
    # connection that dies while busy fails its request with 503, and that failure
    # invalidates the rest of the pool.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["authsvc_returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("authsvc_returned")
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError("stale connection") from exc


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The file of a SQLite engine; None for PostgreSQL or an in-memory database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return database


def configure_sqlite(engine: Engine) -> None:
    """WAL, the busy timeout, foreign keys, and BEGIN IMMEDIATE for `authsvc_write`."""

    # WAL lets readers run beside the single writer; the busy timeout makes writers from other
    # processes queue instead of failing with "database is locked".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so writes can BEGIN IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            SQLITE_CACHE_PRAGMA,
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock in WAL
        # mode (SQLITE_BUSY_SNAPSHOT); writers take the lock up front so they queue instead.
        immediate = conn.get_execution_options().get("authsvc_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(driver: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    """BEGIN IMMEDIATE on a SQLite writer's own driver connection, then COMMIT, or ROLLBACK
    when the block raises. The lock is asked for again every `SQLITE_LOCK_POLL_SECONDS` while
    another process holds it, for as long as the busy timeout would wait. Raises:
    OperationalError once it has waited that long, and SQLAlchemy's errors for the driver's
    (`run_on_driver`).

    SQLite's busy handler sleeps 1, 2, 5 ... then 100 ms between tries. Under steady writes
    from two processes, the one that just committed takes the lock again long before the
    other wakes, and the other's writers wait for whole seconds; asked this often, a waiting
    process gets in at the first gap between the holder's transactions. Inside the
    transaction the busy timeout applies again, for the rare statement that still has to
    wait (a checkpoint or recovery by another connection)."""
    cursor = driver.cursor()
    try:
        _take_write_lock(cursor)
        try:
            yield cursor
            run_on_driver(cursor, "COMMIT", ())
        except BaseException:
            if driver.in_transaction:  # never hold the lock for a transaction nobody runs
                run_on_driver(cursor, "ROLLBACK", ())
            raise
    finally:
        cursor.close()


def run_on_driver(cursor: sqlite3.Cursor, sql: str, args: tuple[Any, ...]) -> list[Any]:
    """Every row of one statement run on the sqlite3 driver. Raises: the SQLAlchemy error
    that SQLAlchemy would have raised for the driver's (IntegrityError, OperationalError ...),
    so callers tell bad data from an unavailable database as they do elsewhere."""
    import sqlite3  # here: a PostgreSQL process never needs it

    try:
        cursor.execute(sql, args)
        # Every row, so no statement is left half-stepped when the transaction commits.
        return cursor.fetchall()
    except sqlite3.Error as exc:
        # SQLAlchemy's own wrapping, as its execution layer applies it: the same class names.
        raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc


def _take_write_lock(cursor: Any) -> None:
    import sqlite3  # here: a PostgreSQL process never needs it

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "database is locked" not in str(exc) or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", (), exc) from exc
            else:
                return
            time.sleep(SQLITE_LOCK_POLL_SECONDS)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class Database:
    """An engine and the two ways this store uses it: read, or write in one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite admits one writer at a time; queueing this process's writers on an asyncio
        # lock is fairer and cheaper than letting them spin in SQLite's busy handler.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else None
        )

    @property
    def write_lock(self) -> asyncio.Lock | None:
        """What this process's writers queue on (SQLite); None where the database's own row
        locks do (PostgreSQL)."""
        return self._write_lock

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection outside any write transaction. Raises: StoreUnavailable."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which every statement commits on its own, with no BEGIN or COMMIT
        round trip: for one write that is atomic by itself. PostgreSQL only (on SQLite it
        would bypass the write lock). Raises: StoreUnavailable."""
        try:
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one write transaction. Raises: StoreUnavailable."""
        lock: AbstractAsyncContextManager[Any] = self._write_lock or nullcontext()
        try:
            async with lock, self.engine.connect() as conn:
                await conn.execution_options(authsvc_write=True)
                async with conn.begin():
                    yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("database unavailable") from exc
