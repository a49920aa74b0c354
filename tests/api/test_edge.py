"""The HTTP edge: no Host-built redirects, verify answers only 200/401, HSTS, Origin schemes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from authsvc.app import create_app
from tests.support import BASE_URL, CSRF_HEADER, PASSWORD, FakeClock, LoggedIn, make_settings

SPA = "https://app.example.com"
EVIL = "https://evil.example.net"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/auth/login/"),
        ("GET", "/auth/me/"),
        ("GET", "/healthz/"),
        ("GET", "/auth/verify/"),
    ],
)
async def test_trailing_slash_is_not_redirected_to_the_host_header(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(
        method,
        path,
        json={"username": "alice", "password": PASSWORD},
        headers={"Host": "evil.example.net"},
    )
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json() == {"detail": "Not Found"}


@pytest.fixture
async def spa_client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_path, database_url=database_url, allowed_origins=SPA)
    app = create_app(settings, clock=FakeClock())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


@pytest.mark.parametrize("origin", [EVIL, SPA, "null"])
@pytest.mark.parametrize("method", ["OPTIONS", "GET", "POST"])
async def test_verify_never_answers_a_cors_status(
    spa_client: httpx.AsyncClient, origin: str, method: str
) -> None:
    response = await spa_client.request(
        method,
        "/auth/verify",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-evil",
        },
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}


async def test_verify_401_carries_the_json_detail_of_every_other_401(
    client: httpx.AsyncClient, alice: LoggedIn
) -> None:
    await client.post("/auth/logout", headers={"Cookie": f"refresh_token={alice.refresh_token}"})
    for headers in ({}, {"Authorization": "Bearer nonsense"}, alice.bearer):
        response = await client.get("/auth/verify", headers=headers)
        me = await client.get("/auth/me", headers=headers)
        assert response.status_code == me.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.json() == me.json()
        assert response.headers["cache-control"] == "no-store"


async def test_cors_still_serves_the_spa_elsewhere(spa_client: httpx.AsyncClient) -> None:
    response = await spa_client.options(
        "/auth/refresh",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-requested-with",
            **CSRF_HEADER,
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
