"""Fresh databases for one benchmark run: a seeded template per size, copied per server.

SQLite templates are files copied byte for byte; PostgreSQL ones are copied with
`CREATE DATABASE … TEMPLATE …`. Everything created here is removed by `close()`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

POSTGRES_SERVER = os.environ.get("AUTHSVC_BENCH_POSTGRES", "postgres@127.0.0.1:5432")


@asynccontextmanager
async def _postgres() -> AsyncIterator[Any]:
    """A connection to the server's `postgres` database, closed on the way out."""
    connection = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        yield connection
    finally:
        await connection.close()


async def _admin(statement: str) -> None:
    async with _postgres() as connection:
        await connection.execute(statement)


async def _copy_database(database: str, template: str) -> None:
    async with _postgres() as connection:
        # From version 15 a copy goes through the write-ahead log block by block by default: at
        # a million sessions hundreds of megabytes, which the server would still be writing out
        # while the runs are measured. FILE_COPY (the only way before 15) copies the files
        # after one checkpoint.
        version = int(await connection.fetchval("SHOW server_version_num"))
        strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        await connection.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"{strategy}')


class Databases:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._prefix = f"authsvc_bench_{uuid.uuid4().hex[:8]}"
        self._postgres: list[str] = []

    async def create(self, store: str, name: str) -> str:
        """An empty database; its SQLAlchemy URL."""
        if store == "sqlite":
            return f"sqlite+aiosqlite:///{self._directory / (name + '.db')}"
        database = f"{self._prefix}_{name}"
        await _admin(f'CREATE DATABASE "{database}"')
        self._postgres.append(database)
        return f"postgresql+asyncpg://{POSTGRES_SERVER}/{database}"

    async def copy(self, store: str, template: str, name: str) -> str:
        """A copy of the database at `template` (which nothing may be connected to)."""
        if store == "sqlite":
            source = Path(template.removeprefix("sqlite+aiosqlite:///"))
            target = self._directory / (name + ".db")
            shutil.copyfile(source, target)
            return f"sqlite+aiosqlite:///{target}"
        database = f"{self._prefix}_{name}"
        source_name = template.rsplit("/", 1)[1]
        await _copy_database(database, source_name)
        self._postgres.append(database)
        return f"postgresql+asyncpg://{POSTGRES_SERVER}/{database}"

    async def drop(self, url: str) -> None:
        if url.startswith("sqlite"):
            path = Path(url.removeprefix("sqlite+aiosqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            return
        database = url.rsplit("/", 1)[1]
        await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if database in self._postgres:
            self._postgres.remove(database)

    async def close(self) -> None:
        for database in list(self._postgres):
            await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._postgres.clear()
