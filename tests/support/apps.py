"""The app in-process: settings -> app with its lifespan running -> an httpx client over ASGI.

The `app`, `client` and `client_for` fixtures (tests/conftest.py) are built on these; a test
that needs more (the app's state, several replicas, a client per IP) uses them directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from authsvc.app import create_app
from authsvc.clock import Clock, utc_now
from authsvc.settings import Settings
from tests.support.http import BASE_URL, CSRF_HEADER

# The `client_for` fixture (tests/conftest.py): `async with client_for(**settings) as client`.
ClientFor = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def running_app(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[FastAPI]:
    """`create_app(settings)` with its lifespan started, and shut down on the way out."""
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


def asgi_client(
    app: FastAPI,
    *,
    client_ip: str | None = None,
    base_url: str = BASE_URL,
    headers: dict[str, str] | None = CSRF_HEADER,
) -> httpx.AsyncClient:
    """A client calling `app` in-process; requests come from `client_ip` when given."""
    transport = (
        httpx.ASGITransport(app=app)
        if client_ip is None
        else httpx.ASGITransport(app=app, client=(client_ip, 40000))
    )
    return httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)


@asynccontextmanager
async def app_client(
    settings: Settings, *, clock: Clock = utc_now, headers: dict[str, str] | None = CSRF_HEADER
) -> AsyncIterator[httpx.AsyncClient]:
    """One app under `settings`, running, and a client for it: the whole in-process stack."""
    async with (
        running_app(settings, clock=clock) as application,
        asgi_client(application, headers=headers) as client,
    ):
        yield client
