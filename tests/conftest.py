"""Shared fixtures: explicit settings, a fresh SQLite file per test, an async client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from authsvc.app import create_app
from authsvc.settings import Settings
from tests.e2e.harness import ServerFactory
from tests.support import BASE_URL, CSRF_HEADER, FakeClock, LoggedIn, login, make_settings, register


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # Settings read the environment and `.env`; tests must see only what they pass.
    for name in list(os.environ):
        if name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


pytest_plugins = ["tests.requirements", "tests.stores", "tests.smtp_sink"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=CSRF_HEADER) as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> LoggedIn:
    await register(client)
    return await login(client)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ServerFactory]:
    """Real `authsvc serve` processes: `servers.start(env)`; all stopped when the test ends."""
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()
