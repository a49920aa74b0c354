"""Storage: the `Store` interface and its SQL implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from authsvc.store.base import Store
from authsvc.store.migrate import upgrade_engine
from authsvc.store.sql import SqlStore, create_engine


@asynccontextmanager
async def open_store(database_url: str, *, migrate: bool = False) -> AsyncIterator[Store]:
    """The store for `database_url`, brought to the newest schema first if `migrate`.

    Raises: StoreUnavailable when migrating and the database cannot be reached.
    """
    engine = create_engine(database_url)
    store = SqlStore(engine)
    try:
        if migrate:
            await upgrade_engine(engine)
        yield store
    finally:
        await store.close()


__all__ = ["Store", "open_store"]
