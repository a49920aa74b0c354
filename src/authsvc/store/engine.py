"""The SQL engine: SQLite's pragmas and locking, and the read and write connections of the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from authsvc.errors import StoreUnavailable

# Errors that mean "the database is not answering right now", as opposed to bad data.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, OSError)

SQLITE_BUSY_TIMEOUT_MS = 10_000


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


class Database:
    """An engine and the two ways this store uses it: read, or write in one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite admits one writer at a time; queueing this process's writers on an asyncio
        # lock is fairer and cheaper than letting them spin in SQLite's busy handler.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else None
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection outside any write transaction. Raises: StoreUnavailable."""
        try:
            async with self.engine.connect() as conn:
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
