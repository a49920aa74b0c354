"""The SQLite group-commit writer on a real file: batching, failures kept to their unit, close."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from authsvc.errors import StoreUnavailable
from authsvc.store import engine as engine_module
from authsvc.store.engine import configure_sqlite
from authsvc.store.group_commit import GroupCommitWriter, Steps

metadata = MetaData()
entries = Table(
    "entries", metadata, Column("key", String, primary_key=True), Column("value", Integer)
)


class Committed:
    """Counts the transactions committed on the writer's connections, from SQLite's own trace
    of every statement they run (the writer commits on the driver, past SQLAlchemy)."""

    def __init__(self) -> None:
        self.count = 0

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "connect", self._trace)

    def _trace(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(self._saw)

    def _saw(self, sql: str) -> None:
        if sql == "COMMIT":
            self.count += 1


@pytest.fixture
def commits() -> Committed:
    return Committed()


@pytest.fixture
def write_lock() -> asyncio.Lock:
    return asyncio.Lock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "w.db"


@pytest.fixture
async def writer(
    database: Path, commits: Committed, write_lock: asyncio.Lock
) -> AsyncIterator[GroupCommitWriter]:
    engine = create_engine(f"sqlite+pysqlite:///{database}", poolclass=NullPool)
    configure_sqlite(engine)
    metadata.create_all(engine)
    commits.watch(engine)
    opened = GroupCommitWriter(engine, write_lock)
    yield opened
    await opened.close()


def put(key: str, value: int) -> Steps[int]:
    """Insert one entry; its value back, read in the same transaction."""
    row = yield insert(entries).values(key=key, value=value).returning(entries.c.value), {}
    assert row is not None
    return int(row["value"])


async def test_concurrent_units_share_transactions_and_keep_their_results(
    writer: GroupCommitWriter, commits: Committed
) -> None:
    results = await asyncio.gather(
        *(writer.run(lambda n=n: put(f"k{n}", n)) for n in range(50))  # type: ignore[misc]
    )
    assert results == list(range(50))
    # Queued while the first batch waited for the loop: far fewer transactions than units.
    assert commits.count < 50


async def test_a_failing_unit_fails_alone_and_the_rest_commit(writer: GroupCommitWriter) -> None:
    await writer.run(lambda: put("taken", 1))
    outcomes = await asyncio.gather(
        writer.run(lambda: put("a", 2)),
        writer.run(lambda: put("taken", 3)),  # the primary key is taken: IntegrityError
        writer.run(lambda: put("b", 4)),
        return_exceptions=True,
    )
    assert outcomes[0] == 2
    assert isinstance(outcomes[1], IntegrityError)
    assert outcomes[2] == 4
    # Both neighbours of the failure were committed: inserting them again is refused.
    for key in ("a", "b"):
        with pytest.raises(IntegrityError):
            await writer.run(lambda key=key: put(key, 0))  # type: ignore[misc]


async def test_close_finishes_queued_units_then_refuses(writer: GroupCommitWriter) -> None:
    queued = [asyncio.ensure_future(writer.run(lambda n=n: put(f"q{n}", n))) for n in range(5)]  # type: ignore[misc]
    await asyncio.sleep(0)  # every unit is in the queue
    await writer.close()
    assert [await unit for unit in queued] == list(range(5))
    with pytest.raises(StoreUnavailable):
        await writer.run(lambda: put("late", 0))


async def test_a_unit_whose_caller_gave_up_before_its_turn_never_runs(
    writer: GroupCommitWriter, write_lock: asyncio.Lock
) -> None:
    async with write_lock:  # another write of this process holds the lock
        abandoned = asyncio.ensure_future(writer.run(lambda: put("abandoned", 1)))
        await asyncio.sleep(0)
        abandoned.cancel()
    assert await writer.run(lambda: put("abandoned", 2)) == 2  # the key was still free


async def test_a_database_that_stays_locked_is_unavailable_and_the_writer_recovers(
    writer: GroupCommitWriter, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    assert await writer.run(lambda: put("before", 1)) == 1
    # Another process holds the file's write lock for longer than the busy timeout.
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        outcomes = await asyncio.gather(
            *(writer.run(lambda n=n: put(f"locked{n}", n)) for n in range(3)),  # type: ignore[misc]
            return_exceptions=True,
        )
        # What the callers get is the service's own error, never the driver's.
        assert all(isinstance(outcome, StoreUnavailable) for outcome in outcomes)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # Nothing of the refused batch was written, and the next batch gets in.
    assert await writer.run(lambda: put("after", 2)) == 2
    with sqlite3.connect(database) as check:
        keys = [key for (key,) in check.execute("SELECT key FROM entries ORDER BY key")]
    assert keys == ["after", "before"]
