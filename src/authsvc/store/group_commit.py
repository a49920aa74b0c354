"""SQLite's group commit: queued units of write work, many per transaction and thread hop.

Through aiosqlite, one write costs a hop to its thread for each of checkout, BEGIN, every
statement, COMMIT and the connection's reset, and SQLite runs one writer at a time anyway.
`GroupCommitWriter` queues units instead; one drainer takes the process's write lock (the
`Database`'s, so every other write still serialises with it), runs all queued units on a
dedicated `sqlite3` connection in one hop and one `BEGIN IMMEDIATE` transaction, commits,
and answers each caller. While another process holds the file's write lock, the writer
asks for it again every fraction of a millisecond (`write_transaction`) rather than in
SQLite's busy handler's growing sleeps.

The writer runs each statement on the driver itself, compiled once (`driver.Query`): its
thread shares the interpreter's lock with the event loop, and SQLAlchemy's execution layer
cost a statement several times the Python code the driver call needs.

A unit makes a `Steps` generator: it yields one statement at a time and gets its first row
back by column name, so the same unit also runs one statement per await on an
`AsyncConnection` (`run_steps`), which is how PostgreSQL runs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool, PoolProxiedConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase

from authsvc.errors import StoreUnavailable
from authsvc.store.driver import Query
from authsvc.store.engine import (
    UNAVAILABLE_ERRORS,
    Database,
    configure_sqlite,
    run_on_driver,
    sqlite_file,
    write_transaction,
)

if TYPE_CHECKING:
    import sqlite3

T = TypeVar("T")

# One statement and its parameters (each statement built once, at import: see MAX_QUERIES).
Statement = tuple[UpdateBase | Select[Any], Mapping[str, Any]]
# The statement's first row by column name (SQLAlchemy's RowMapping also takes columns as
# keys), or None: what a unit gets back for each step.
StepRow = Mapping[Any, Any]
Steps = Generator[Statement, StepRow | None, T]
# What is queued: it makes the unit's steps afresh, so a unit can run again from the start.
Unit = Callable[[], Steps[T]]

# Bounds how long one transaction holds SQLite's write lock: later units wait for the next.
MAX_BATCH = 64
# Statements compiled for the writer's driver. The units' statements are a handful built at
# import; should a unit build its own anew each time, the cache starts over past this many.
MAX_QUERIES = 64

log = logging.getLogger("authsvc.store")


async def run_steps(conn: AsyncConnection, steps: Steps[T]) -> T:
    """Run a unit on an async connection, inside the caller's transaction."""
    statement, params = next(steps)
    while True:
        row = (await conn.execute(statement, params)).first()
        try:
            statement, params = steps.send(None if row is None else row._mapping)
        except StopIteration as finished:
            return cast(T, finished.value)


class _Failed:
    """A unit's exception, carried back from the writer thread in place of its result."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class GroupCommitWriter:
    """Runs units in batches, one transaction each, on a thread of its own."""

    def __init__(self, engine: Engine, lock: asyncio.Lock | None) -> None:
        self._engine = engine
        self._lock: AbstractAsyncContextManager[Any] = lock or nullcontext()
        # One thread: the sqlite3 connection is only ever touched from it.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="authsvc-writer")
        # Opened by the thread on first use; only ever touched from it.
        self._conn: PoolProxiedConnection | None = None
        self._queries: dict[UpdateBase | Select[Any], Query] = {}
        self._queue: list[tuple[Unit[Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._closed = False

    async def run(self, unit: Unit[T]) -> T:
        """The unit's result, once its batch committed. Raises: StoreUnavailable, or what
        the unit raised (its own transaction rolled back)."""
        if self._closed:
            raise StoreUnavailable("store closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((unit, future))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def close(self) -> None:
        """Finish what is queued, then close the connection and the thread; once."""
        if self._closed:
            return
        self._closed = True
        if self._drainer is not None:
            await self._drainer
        # Only the thread touches the connection, and it is idle now: a store that never
        # rotated (a CLI command) starts no thread just to close nothing.
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._disconnect)
        self._thread.shutdown(wait=False)
        self._engine.dispose()

    async def _drain(self) -> None:
        try:
            while self._queue:
                async with self._lock:
                    # Taken once the lock is held: a caller that stopped waiting meanwhile
                    # (its request was cancelled) is left out, not rotated for nobody.
                    batch = [entry for entry in self._queue[:MAX_BATCH] if not entry[1].done()]
                    del self._queue[:MAX_BATCH]
                    if batch:
                        await self._run(batch)
        finally:
            self._drainer = None
            # Only when the drainer itself was cancelled (the loop is closing): nobody else
            # would answer what is still queued.
            self._fail([future for _, future in self._queue])
            self._queue.clear()

    async def _run(self, batch: list[tuple[Unit[Any], asyncio.Future[Any]]]) -> None:
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self._thread, self._commit, [unit for unit, _ in batch]
            )
        except BaseException as exc:
            # Cancelled while the thread still runs the batch, or no thread left: the outcome
            # is unknown to this side, so the callers get an error, never a guess.
            self._fail([future for _, future in batch])
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.exception("store writer failed")
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller stopped waiting (its client went away)
                continue
            if isinstance(result, _Failed):
                future.set_exception(result.error)
            else:
                future.set_result(result)

    @staticmethod
    def _fail(futures: list[asyncio.Future[Any]]) -> None:
        for future in futures:
            if not future.done():
                future.set_exception(StoreUnavailable("database unavailable"))

    def _commit(self, units: list[Unit[Any]]) -> list[Any]:
        # In the writer thread. A failure rolls the whole batch back; each unit then runs
        # again alone from its first statement, so one unit's error is never another's.
        try:
            return self._transaction(units)
        except UNAVAILABLE_ERRORS as exc:
            self._unavailable(exc)
            return [_Failed(StoreUnavailable("database unavailable")) for _ in units]
        except Exception as exc:
            if len(units) == 1:
                return [_Failed(exc)]
        return [self._alone(unit) for unit in units]

    def _alone(self, unit: Unit[Any]) -> Any:
        try:
            return self._transaction([unit])[0]
        except UNAVAILABLE_ERRORS as exc:
            self._unavailable(exc)
            return _Failed(StoreUnavailable("database unavailable"))
        except Exception as exc:
            return _Failed(exc)

    def _transaction(self, units: list[Unit[Any]]) -> list[Any]:
        if self._conn is None:
            self._conn = self._engine.raw_connection()
        driver = cast("sqlite3.Connection", self._conn.driver_connection)
        with write_transaction(driver) as cursor:
            return [self._run_steps(cursor, unit()) for unit in units]

    def _run_steps(self, cursor: sqlite3.Cursor, steps: Steps[Any]) -> Any:
        statement, params = next(steps)
        while True:
            query = self._query(statement)
            rows = run_on_driver(cursor, query.sql, query.args(params))
            try:
                statement, params = steps.send(query.named(query.decode(rows[0])) if rows else None)
            except StopIteration as finished:
                return finished.value

    def _query(self, statement: UpdateBase | Select[Any]) -> Query:
        query = self._queries.get(statement)
        if query is None:
            if len(self._queries) >= MAX_QUERIES:
                self._queries.clear()
            query = self._queries[statement] = Query(statement, self._engine.dialect)
        return query

    def _unavailable(self, exc: Exception) -> None:
        # The connection may be broken: the next batch opens a new one.
        log.warning("store write failed: %s", type(exc).__name__)
        self._disconnect()

    def _disconnect(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


def open_group_commit(db: Database) -> GroupCommitWriter | None:
    """A writer for a SQLite file's store; None for PostgreSQL and in-memory SQLite."""
    path = sqlite_file(db.engine)
    if path is None:
        return None
    # The stdlib driver on the same file, set up as the async engine's connections are.
    engine = create_engine(f"sqlite+pysqlite:///{path}", poolclass=NullPool)
    configure_sqlite(engine)
    return GroupCommitWriter(engine, db.write_lock)
