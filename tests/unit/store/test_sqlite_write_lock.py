"""A SQLite writer waiting for another process's write lock asks again every fraction of a
millisecond (`begin_when_free`), gives up after the busy timeout, and keeps SQLite's own
busy timeout for everything else."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from authsvc.store import engine as engine_module
from authsvc.store.engine import SQLITE_BUSY_TIMEOUT_MS, begin_when_free, configure_sqlite

HOLD_SECONDS = 0.3


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "locked.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE entries (value INTEGER)")
    return path


@pytest.fixture
def writer(database: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite+pysqlite:///{database}", poolclass=NullPool)
    configure_sqlite(engine)
    yield engine
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


def _busy_timeout(conn: Connection) -> int:
    # On the driver: through SQLAlchemy, the statement would begin a transaction.
    row = conn.connection.dbapi_connection.execute("PRAGMA busy_timeout").fetchone()  # type: ignore[union-attr]
    return int(row[0])


def _statements(conn: object) -> list[str]:
    seen: list[str] = []
    conn.connection.dbapi_connection.set_trace_callback(seen.append)  # type: ignore[attr-defined]
    return seen


def test_a_writer_asks_again_and_again_until_the_lock_is_free(
    writer: Engine, other: OtherProcess
) -> None:
    with writer.connect().execution_options(authsvc_write=True) as conn:
        seen = _statements(conn)
        holder = other.hold(HOLD_SECONDS)
        with begin_when_free(conn):
            conn.execute(text("INSERT INTO entries VALUES (2)"))
        holder.join()
        # SQLite's busy handler would have retried inside one statement; this writer sent
        # BEGIN IMMEDIATE once per try, far more often than the handler's 100 ms sleeps.
        assert seen.count("BEGIN IMMEDIATE") >= 20
        assert conn.execute(text("SELECT count(*) FROM entries")).scalar() == 2


def test_the_busy_timeout_is_back_once_the_transaction_began(
    writer: Engine, other: OtherProcess
) -> None:
    with writer.connect().execution_options(authsvc_write=True) as conn:
        holder = other.hold(0.05)
        with begin_when_free(conn):
            busy = conn.execute(text("PRAGMA busy_timeout")).scalar()
        holder.join()
    assert busy == SQLITE_BUSY_TIMEOUT_MS


def test_a_writer_gives_up_after_the_busy_timeout(
    writer: Engine, other: OtherProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    with writer.connect().execution_options(authsvc_write=True) as conn:
        holder = other.hold(HOLD_SECONDS)
        with pytest.raises(OperationalError, match="database is locked"):
            begin_when_free(conn)
        holder.join()
        assert not conn.in_transaction()
        assert _busy_timeout(conn) == 100
        # The same connection writes once the lock is free.
        with begin_when_free(conn):
            conn.execute(text("INSERT INTO entries VALUES (3)"))
    with sqlite3.connect(writer.url.database or "") as check:
        assert check.execute("SELECT count(*) FROM entries").fetchone() == (2,)
