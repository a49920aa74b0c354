"""A burst of logins through a real server on PostgreSQL opens no more connections than
DATABASE_POOL_SIZE: connections are kept, never opened and closed per request."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from sqlalchemy import make_url

from tests.support.http import PASSWORD, register_sync
from tests.support.processes import ServerFactory, server_env
from tests.support.stores import admin_value

POOL_SIZE = 3
BURST = 50


async def sessions_opened(database_url: str) -> int:
    """How many connections PostgreSQL ever accepted into this database (pg_stat_database)."""
    count: int = await admin_value(
        "SELECT sessions FROM pg_stat_database WHERE datname = $1", make_url(database_url).database
    )
    return count


async def logins_at_once(base_url: str, username: str, count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post("/auth/login", json={"username": username, "password": PASSWORD})
                for _ in range(count)
            )
        )
    return [r.status_code for r in responses]


def test_fifty_concurrent_logins_open_no_more_than_the_pool(
    servers: ServerFactory, tmp_path: Path, postgres_database: str
) -> None:
    before = asyncio.run(sessions_opened(postgres_database))
    server = servers.start(
        server_env(
            tmp_path / "unused.db",
            DATABASE_URL=postgres_database,
            DATABASE_POOL_SIZE=str(POOL_SIZE),
            # The migrations already ran; starting adds no connection of its own.
            MIGRATE_ON_START="false",
            THROTTLE_PER_IP="10000/minute",
            THROTTLE_PER_ACCOUNT_IP="10000/minute",
            THROTTLE_PER_ACCOUNT="10000/minute",
        )
    )
    # The database is this run's, shared with other tests: a name no other test uses.
    username = f"pool-{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        register_sync(client, username)

    statuses = asyncio.run(logins_at_once(server.base_url, username, BURST))

    assert statuses == [200] * BURST, statuses
    opened = asyncio.run(sessions_opened(postgres_database)) - before
    # `serve` checks the schema on one connection of its own before it starts serving.
    assert 1 <= opened <= POOL_SIZE + 1, f"{opened} connections for a pool of {POOL_SIZE}"
