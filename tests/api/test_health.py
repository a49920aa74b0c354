"""Probes, and what callers see when the store is down."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.deps import get_services
from authsvc.store.sql import SqlStore
from tests.support.http import PASSWORD


def break_store(app: FastAPI) -> SqlStore:
    # A real PostgreSQL store whose server is unreachable: nothing listens on port 1. (A broken
    # SQLite path would do too, but aiosqlite's worker threads can outlive the test's loop.)
    broken = SqlStore(create_async_engine("postgresql+asyncpg://authsvc@127.0.0.1:1/none"))
    services = app.state.services.with_store(broken)
    app.dependency_overrides[get_services] = lambda: services
    return broken


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_store_is_unreachable(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    broken = break_store(app)
    try:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"detail": "Service temporarily unavailable"}
        assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
    finally:
        await broken.close()


async def test_store_outage_is_a_clean_503_not_a_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    broken = break_store(app)
    try:
        for path, body in [
            ("/auth/login", {"username": "alice", "password": PASSWORD}),
            ("/auth/register", {"username": "alice", "password": PASSWORD}),
        ]:
            response = await client.post(path, json=body)
            assert response.status_code == 503, path
            assert response.headers["retry-after"] == "1"
            assert response.json() == {"detail": "Service temporarily unavailable"}
    finally:
        await broken.close()
