"""The stores every storage-touching test runs against: SQLite always, PostgreSQL by default.

PostgreSQL runs on 127.0.0.1:5432 on every development and CI machine. Each test run creates
its own database (a random name, so parallel runs never collide), migrates it once, empties
its tables before each test, and drops it at the end. AUTHSVC_TEST_STORES=sqlite limits a
run to SQLite on a machine without PostgreSQL.

SQLite is migrated once per test worker too: each test's own file starts as a copy of that
template, so it is at head like PostgreSQL's database and the migrations do not run again for
every test. Tests of the migrations themselves open files of their own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from authsvc.store import Store, open_store
from tests.requirements import POSTGRESQL, require

STORES = [s.strip() for s in os.environ.get("AUTHSVC_TEST_STORES", "sqlite,postgresql").split(",")]
POSTGRES_SERVER = os.environ.get("AUTHSVC_TEST_POSTGRES", "postgres@127.0.0.1:5432")


def _run_in_thread(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # Session setup may happen while a test's event loop is running; use a loop of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(make())).result()


async def admin_value(query: str, *args: object) -> Any:
    """One value from `query` on the server's `postgres` database, as its administrator: for
    the statistics views, which see every database."""
    connection = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def _migrate(url: str) -> None:
    async with open_store(url, migrate=True):
        pass


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated database of this test run's own; its SQLAlchemy URL."""
    require(POSTGRESQL)
    name = f"authsvc_test_{uuid.uuid4().hex[:12]}"
    url = f"postgresql+asyncpg://{POSTGRES_SERVER}/{name}"
    _run_in_thread(lambda: _admin(f'CREATE DATABASE "{name}"'))
    try:
        _run_in_thread(lambda: _migrate(url))
        yield url
    finally:
        _run_in_thread(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("TRUNCATE users, sessions, audit_events, mail_outbox CASCADE")
    finally:
        await connection.close()


async def revoked_since(store: Store, since: datetime) -> list[tuple[str, datetime]]:
    """Every revocation `store.revoked_since` hands out, read to the end."""
    return [revoked async for revoked in store.revoked_since(since)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, once per test worker; `sqlite_url` hands each test a
    copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "authsvc.db"
    _run_in_thread(lambda: _migrate(f"sqlite+aiosqlite:///{path}"))
    # Closing the last connection checkpoints the write-ahead log into the file: the file
    # alone is the whole database.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The test's authsvc.db in `tmp_path`, a copy of the migrated template; its URL."""
    path = tmp_path / "authsvc.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=STORES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    url: str = request.getfixturevalue("postgres_database")
    await _empty(url)
    yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store over `database_url`, open for the test."""
    async with open_store(database_url, migrate=True) as opened:
        yield opened
