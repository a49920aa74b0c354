"""Storage: the `Store` interface and its SQL implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from authsvc.store.base import Store
from authsvc.store.engine import DEFAULT_POOL_SIZE, MissingDatabaseDirectory, create_engine
from authsvc.store.migrate import upgrade_engine
from authsvc.store.sql import SqlStore


@asynccontextmanager
async def open_store(
    database_url: str,
    *,
    migrate: bool = False,
    create_directories: bool = False,
    pool_size: int = DEFAULT_POOL_SIZE,
) -> AsyncIterator[Store]:
    """The store for `database_url`, brought to the newest schema first if `migrate`, with
    at most `pool_size` connections open.

    Raises: StoreUnavailable when migrating and the database cannot be reached;
    MissingDatabaseDirectory (see `create_engine`).
    """
    engine = create_engine(database_url, create_directories=create_directories, pool_size=pool_size)
    store = SqlStore(engine)
    try:
        if migrate:
            await upgrade_engine(engine)
        yield store
    finally:
        await store.close()


__all__ = ["MissingDatabaseDirectory", "Store", "open_store"]
