"""PostgreSQL's pool: an idle connection the server dropped is replaced before it is used."""

from __future__ import annotations

import asyncio

from sqlalchemy import make_url

from authsvc.store import open_store
from authsvc.store.engine import PING_AFTER_IDLE_SECONDS
from tests.support.stores import admin_value


async def terminate_backends(database_url: str) -> int:
    """End every connection to the database, as a server restart would."""
    ended: int = await admin_value(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
        make_url(database_url).database,
    )
    return ended


async def test_an_idle_connection_dropped_by_the_server_is_replaced(
    postgres_database: str,
) -> None:
    async with open_store(postgres_database, pool_size=2) as store:
        await asyncio.gather(store.ping(), store.ping())  # both pooled connections open
        assert await terminate_backends(postgres_database) >= 1
        await asyncio.sleep(PING_AFTER_IDLE_SECONDS * 1.5)

        # Without the ping these would fail on the dead connections with StoreUnavailable.
        await asyncio.gather(store.ping(), store.ping())
        assert await store.schema_revision() is not None
