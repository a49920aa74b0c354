"""API tests run against every store (see tests/support/stores.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.support.lean_endpoints import lean_client, routed_client
from tests.support.settings import make_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
async def lean(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app, lean endpoints and all, with no header of its own."""
    async with lean_client(app) as client:
        yield client


@pytest.fixture
async def routed(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The FastAPI routes of api/auth.py alone, over the same running services as `app`."""
    async with routed_client(app, settings) as client:
        yield client
