"""Cross-site defences on the cookie routes, and CORS for the configured SPA origins."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.support.apps import asgi_client
from tests.support.http import COOKIE, PASSWORD, Tokens, preflight, register, rotate, set_cookie_jar
from tests.support.settings import make_settings

SPA = "https://app.example.com"
EVIL = "https://evil.example"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, allowed_origins=SPA)


def cookie_only(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


async def assert_session_untouched(client: httpx.AsyncClient, alice: Tokens) -> None:
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200
    assert (await rotate(client, alice.refresh)).status_code == 200


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
    app: FastAPI, alice: Tokens, path: str, headers: dict[str, str]
) -> None:
    async with asgi_client(app, headers=None) as bare:
        response = await bare.post(path, headers={**cookie_only(alice.refresh), **headers})
    assert response.status_code == 403
    assert "detail" in response.json()
    assert "set-cookie" not in response.headers
    assert "access_token" not in response.text
    async with asgi_client(app) as spa:
        await assert_session_untouched(spa, alice)


async def test_missing_header_names_the_header(app: FastAPI, alice: Tokens) -> None:
    async with asgi_client(app, headers=None) as bare:
        response = await bare.post("/auth/refresh", headers=cookie_only(alice.refresh))
    assert response.json() == {"detail": "Missing X-Requested-With header"}


@pytest.mark.parametrize(
    "origin", [SPA, "https://authsvc.test"], ids=["configured-spa", "same-origin"]
)
async def test_allowed_origins_refresh_normally(
    client: httpx.AsyncClient, alice: Tokens, origin: str
) -> None:
    client.cookies.clear()
    response = await client.post(
        "/auth/refresh",
        headers={**cookie_only(alice.refresh), "Origin": origin},
    )
    assert response.status_code == 200
    assert COOKIE in set_cookie_jar(response)


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
    response = await preflight(client, "/auth/refresh", origin, "x-requested-with, content-type")
    if not admitted:
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers
        return
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-requested-with" in response.headers["access-control-allow-headers"].lower()


async def test_simple_cors_response_only_for_the_spa(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    ok = await client.get("/auth/me", headers={**alice.bearer, "Origin": SPA})
    assert ok.headers["access-control-allow-origin"] == SPA
    evil = await client.get("/auth/me", headers={**alice.bearer, "Origin": EVIL})
    assert "access-control-allow-origin" not in evil.headers
