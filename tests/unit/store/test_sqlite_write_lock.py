"""A SQLite writer waiting for another process's write lock asks again every fraction of a
millisecond (`write_transaction`), gives up after the busy timeout, and keeps SQLite's own
busy timeout for everything else; a failing transaction rolls back, with the driver's error
raised as SQLAlchemy's."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from authsvc.store import engine as engine_module
from authsvc.store.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    configure_sqlite,
    run_on_driver,
    write_transaction,
)

HOLD_SECONDS = 0.3


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "locked.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE entries (value INTEGER NOT NULL)")
    return path


@pytest.fixture
def writer(database: Path) -> Iterator[sqlite3.Connection]:
    """The driver connection of a writer, set up as the group-commit writer's is."""
    engine = create_engine(f"sqlite+pysqlite:///{database}", poolclass=NullPool)
    configure_sqlite(engine)
    pooled = engine.raw_connection()
    yield pooled.driver_connection  # type: ignore[misc]
    pooled.close()
    engine.dispose()


class OtherProcess:
    """Another writer on the same file: a connection of its own holding the write lock."""

    def __init__(self, database: Path) -> None:
        self._conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.holding = threading.Event()

    def hold(self, seconds: float) -> threading.Thread:
        def run() -> None:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("INSERT INTO entries VALUES (1)")
            self.holding.set()
            threading.Event().wait(seconds)
            self._conn.execute("COMMIT")

        thread = threading.Thread(target=run)
        thread.start()
        assert self.holding.wait(5)
        return thread

    def close(self) -> None:
        self._conn.close()


@pytest.fixture
def other(database: Path) -> Iterator[OtherProcess]:
    holder = OtherProcess(database)
    yield holder
    holder.close()


def _busy_timeout(driver: sqlite3.Connection) -> int:
    return int(driver.execute("PRAGMA busy_timeout").fetchone()[0])


def _count(database: Path) -> int:
    with closing(sqlite3.connect(database)) as check:
        return int(check.execute("SELECT count(*) FROM entries").fetchone()[0])


def test_a_writer_asks_again_and_again_until_the_lock_is_free(
    database: Path, writer: sqlite3.Connection, other: OtherProcess
) -> None:
    seen: list[str] = []
    writer.set_trace_callback(seen.append)
    holder = other.hold(HOLD_SECONDS)
    with write_transaction(writer) as cursor:
        run_on_driver(cursor, "INSERT INTO entries VALUES (2)", ())
    holder.join()
    # SQLite's busy handler would have retried inside one statement; this writer sent
    # BEGIN IMMEDIATE once per try, far more often than the handler's 100 ms sleeps.
    assert seen.count("BEGIN IMMEDIATE") >= 20
    assert seen[-1] == "COMMIT"
    assert _count(database) == 2


def test_the_busy_timeout_is_back_once_the_transaction_began(
    writer: sqlite3.Connection, other: OtherProcess
) -> None:
    holder = other.hold(0.05)
    with write_transaction(writer) as cursor:
        busy = run_on_driver(cursor, "PRAGMA busy_timeout", ())
    holder.join()
    assert busy == [(SQLITE_BUSY_TIMEOUT_MS,)]


def test_a_writer_gives_up_after_the_busy_timeout(
    database: Path,
    writer: sqlite3.Connection,
    other: OtherProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    holder = other.hold(HOLD_SECONDS)
    with pytest.raises(OperationalError, match="database is locked"), write_transaction(writer):
        pytest.fail("the block ran without the lock")
    holder.join()
    assert not writer.in_transaction
    assert _busy_timeout(writer) == 100
    # The same connection writes once the lock is free.
    with write_transaction(writer) as cursor:
        run_on_driver(cursor, "INSERT INTO entries VALUES (3)", ())
    assert _count(database) == 2


def test_a_failing_block_rolls_back_and_the_driver_error_is_sqlalchemys(
    database: Path, writer: sqlite3.Connection
) -> None:
    with pytest.raises(IntegrityError), write_transaction(writer) as cursor:
        run_on_driver(cursor, "INSERT INTO entries VALUES (4)", ())
        run_on_driver(cursor, "INSERT INTO entries VALUES (NULL)", ())  # NOT NULL
    assert not writer.in_transaction
    assert _count(database) == 0
    missing = pytest.raises(OperationalError, match="no such table")
    with missing, write_transaction(writer) as cursor:
        run_on_driver(cursor, "SELECT * FROM missing", ())
    assert not writer.in_transaction
