"""Cross-site defences on the cookie routes, and CORS for the configured SPA origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from authsvc.app import create_app
from tests.support import (
    BASE_URL,
    COOKIE,
    PASSWORD,
    FakeClock,
    LoggedIn,
    make_settings,
    parse_set_cookie,
    register,
    rotate,
)

SPA = "https://app.example.com"
EVIL = "https://evil.example"


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(tmp_path, allowed_origins=SPA), clock=clock)
    async with LifespanManager(application):
        yield application


def cookie_only(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


async def assert_session_untouched(client: httpx.AsyncClient, alice: LoggedIn) -> None:
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200
    assert (await rotate(client, alice.refresh_token)).status_code == 200


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL, "X-Requested-With": "XMLHttpRequest"},
        {"Origin": "null", "X-Requested-With": "XMLHttpRequest"},
        {"Origin": SPA + ".evil.example", "X-Requested-With": "XMLHttpRequest"},
        {"Sec-Fetch-Site": "cross-site", "X-Requested-With": "XMLHttpRequest"},
        {"Origin": SPA},  # allowed origin, but a plain form post cannot add the header
        {},
    ],
    ids=[
        "evil-origin",
        "null-origin",
        "suffix-origin",
        "sec-fetch-cross-site",
        "no-header",
        "bare",
    ],
)
async def test_cross_site_requests_never_rotate_or_revoke(
    app: FastAPI, alice: LoggedIn, path: str, headers: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as bare:
        response = await bare.post(path, headers={**cookie_only(alice.refresh_token), **headers})
    assert response.status_code == 403
    assert "detail" in response.json()
    assert "set-cookie" not in response.headers
    assert "access_token" not in response.text
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"X-Requested-With": "XMLHttpRequest"}
    ) as spa:
        await assert_session_untouched(spa, alice)


async def test_missing_header_names_the_header(app: FastAPI, alice: LoggedIn) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as bare:
        response = await bare.post("/auth/refresh", headers=cookie_only(alice.refresh_token))
    assert response.json() == {"detail": "Missing X-Requested-With header"}


@pytest.mark.parametrize(
    "origin", [SPA, "https://authsvc.test"], ids=["configured-spa", "same-origin"]
)
async def test_allowed_origins_refresh_normally(
    client: httpx.AsyncClient, alice: LoggedIn, origin: str
) -> None:
    client.cookies.clear()
    response = await client.post(
        "/auth/refresh",
        headers={**cookie_only(alice.refresh_token), "Origin": origin},
    )
    assert response.status_code == 200
    assert COOKIE in parse_set_cookie(response)


async def test_cross_site_login_is_refused(client: httpx.AsyncClient) -> None:
    # Login CSRF: a hostile page must not sign the victim's browser into the attacker's account.
    await register(client)
    for path, kwargs in [
        ("/auth/login", {"json": {"username": "alice", "password": PASSWORD}}),
        ("/auth/token", {"data": {"username": "alice", "password": PASSWORD}}),
    ]:
        response = await client.post(path, headers={"Origin": EVIL}, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 403, path
        assert "set-cookie" not in response.headers
    allowed = await client.post(
        "/auth/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"Origin": SPA},
    )
    assert allowed.status_code == 200


@pytest.mark.parametrize(("origin", "admitted"), [(SPA, True), (EVIL, False)])
async def test_cors_preflight_admits_only_the_spa(
    client: httpx.AsyncClient, origin: str, admitted: bool
) -> None:
    response = await client.options(
        "/auth/refresh",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-requested-with, content-type",
        },
    )
    if not admitted:
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers
        return
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-requested-with" in response.headers["access-control-allow-headers"].lower()


async def test_simple_cors_response_only_for_the_spa(
    client: httpx.AsyncClient, alice: LoggedIn
) -> None:
    ok = await client.get("/auth/me", headers={**alice.bearer, "Origin": SPA})
    assert ok.headers["access-control-allow-origin"] == SPA
    evil = await client.get("/auth/me", headers={**alice.bearer, "Origin": EVIL})
    assert "access-control-allow-origin" not in evil.headers
