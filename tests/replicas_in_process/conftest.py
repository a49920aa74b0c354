"""Replicas in one test process: several apps sharing one store (and Redis), one client each.

The real-process kind, several `authsvc serve` children, is tests/e2e/test_replica_processes.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.apps import asgi_client, running_app
from tests.support.settings import make_settings

Replicas = Callable[..., Awaitable[list[httpx.AsyncClient]]]


@pytest.fixture
async def replicas(tmp_path: Path, database_url: str) -> AsyncIterator[Replicas]:
    """Start N replicas on the same store; each test gets a Redis namespace of its own.

    `await replicas(url_a, url_b, **settings)`: one replica a Redis URL (None: no Redis); the
    n-th replica's requests come from 127.0.0.n+1.
    """
    prefix = f"authsvc-test-{uuid.uuid4().hex[:12]}"
    async with AsyncExitStack() as stack:

        async def start(*redis_urls: str | None, **overrides: object) -> list[httpx.AsyncClient]:
            clients = []
            for n, redis_url in enumerate(redis_urls):
                settings = make_settings(
                    tmp_path,
                    database_url=database_url,
                    redis_url=redis_url,
                    redis_prefix=prefix,
                    **overrides,
                )
                app = await stack.enter_async_context(running_app(settings))
                client = asgi_client(app, client_ip=f"127.0.0.{n + 1}")
                clients.append(await stack.enter_async_context(client))
            return clients

        yield start
