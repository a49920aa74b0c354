"""Shared fixtures: explicit settings, a SQLite file of each test's own, an async client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, closing
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.support.apps import ClientFor, app_client, asgi_client, running_app
from tests.support.http import CSRF_HEADER, Tokens, login, register
from tests.support.processes import ServerFactory
from tests.support.settings import FakeClock, make_settings


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # Settings read the environment and `.env`; tests must see only what they pass.
    for name in list(os.environ):
        if name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return make_settings(tmp_path, database_url=sqlite_url)


pytest_plugins = ["tests.requirements", "tests.support.stores", "tests.support.smtp_sink"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    async with running_app(settings, clock=clock) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


@pytest.fixture
def client_for(tmp_path: Path, clock: FakeClock) -> ClientFor:
    """`async with client_for(**settings) as c`: an app of the test's own under other settings
    (SQLite in `tmp_path` unless `database_url=` says otherwise), running, and a client for it."""

    def start(
        *, headers: dict[str, str] | None = CSRF_HEADER, **overrides: object
    ) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return app_client(make_settings(tmp_path, **overrides), clock=clock, headers=headers)

    return start


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Tokens:
    await register(client)
    return await login(client)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ServerFactory]:
    """Real `authsvc serve` processes: `servers.start(env)`; all stopped when the test ends."""
    with closing(ServerFactory(tmp_path)) as factory:
        yield factory
