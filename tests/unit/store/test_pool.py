"""PostgreSQL's pool: an idle connection the server dropped is replaced before it is used."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import make_url

from authsvc.store import open_store
from authsvc.store.engine import PING_AFTER_IDLE_SECONDS


async def terminate_backends(database_url: str) -> int:
    """End every other connection to the database, as a server restart would."""
    url = make_url(database_url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database="postgres"
    )
    try:
        ended: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
        return ended
    finally:
        await admin.close()


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
