"""The HTTP edge: no Host-built redirects, verify answers only 200/401, HSTS, Origin schemes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.apps import app_client, asgi_client, running_app
from tests.support.http import CSRF_HEADER, PASSWORD, Tokens, cookie_header, preflight
from tests.support.settings import FakeClock, make_settings

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
    async with app_client(settings, clock=FakeClock(), headers=None) as client:
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
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    for headers in ({}, {"Authorization": "Bearer nonsense"}, alice.bearer):
        response = await client.get("/auth/verify", headers=headers)
        me = await client.get("/auth/me", headers=headers)
        assert response.status_code == me.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.json() == me.json()
        assert response.headers["cache-control"] == "no-store"


async def test_cors_still_serves_the_spa_elsewhere(spa_client: httpx.AsyncClient) -> None:
    response = await preflight(
        spa_client, "/auth/refresh", SPA, "x-requested-with", extra=CSRF_HEADER
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
async def test_cors_admits_every_method_the_api_takes(
    spa_client: httpx.AsyncClient, method: str
) -> None:
    # PATCH renames a passkey and changes a user: an SPA on another origin preflights it.
    response = await preflight(
        spa_client,
        "/admin/users/some-id",
        SPA,
        "authorization, content-type",
        extra={"Access-Control-Request-Method": method},
    )
    assert response.status_code == 200, response.text
    assert method in response.headers["access-control-allow-methods"]


async def edge_client(
    tmp_path: Path, database_url: str, base_url: str, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_path, database_url=database_url, **overrides)
    async with (
        running_app(settings) as app,
        asgi_client(app, base_url=base_url, headers=None) as client,
    ):
        yield client


HSTS = "strict-transport-security"


async def test_hsts_only_over_https(tmp_path: Path, database_url: str) -> None:
    async for client in edge_client(tmp_path, database_url, "https://authsvc.test"):
        assert (await client.get("/healthz")).headers[HSTS] == "max-age=31536000"
        assert (await client.get("/nowhere")).headers[HSTS] == "max-age=31536000"
    async for client in edge_client(tmp_path, database_url, "http://authsvc.test"):
        # RFC 6797 §7.2: never over plain HTTP; an untrusted peer's X-Forwarded-Proto is a lie.
        response = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert HSTS not in response.headers


async def test_hsts_behind_a_trusted_proxy_that_terminated_tls(
    tmp_path: Path, database_url: str
) -> None:
    async for client in edge_client(
        tmp_path,
        database_url,
        "http://authsvc.test",
        trusted_proxies="127.0.0.1",
        hsts_include_subdomains=True,
    ):
        https = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert https.headers[HSTS] == "max-age=31536000; includeSubDomains"
        assert HSTS not in (await client.get("/healthz")).headers
        plain = await client.get("/healthz", headers={"X-Forwarded-Proto": "http"})
        assert HSTS not in plain.headers


async def test_hsts_can_be_switched_off(tmp_path: Path, database_url: str) -> None:
    async for client in edge_client(
        tmp_path, database_url, "https://authsvc.test", hsts_max_age_seconds=0
    ):
        assert HSTS not in (await client.get("/healthz")).headers


def refresh_from(origin: str, host: str) -> dict[str, str]:
    return {"Origin": origin, "Host": host, **CSRF_HEADER}


async def test_own_origin_must_use_https_when_cookies_are_secure(
    tmp_path: Path, database_url: str
) -> None:
    async for client in edge_client(tmp_path, database_url, "https://authsvc.test"):
        plain = await client.post(
            "/auth/refresh", headers=refresh_from("http://authsvc.test", "authsvc.test")
        )
        assert plain.status_code == 403
        assert plain.json() == {"detail": "Cross-site request refused"}
        # Past the origin check: refused only for want of a cookie.
        secure = await client.post(
            "/auth/refresh", headers=refresh_from("https://authsvc.test", "authsvc.test")
        )
        assert secure.status_code == 401
        for loopback in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
            # Browsers treat loopback origins as secure contexts; the docs page runs there.
            local = await client.post(
                "/auth/refresh", headers=refresh_from(f"http://{loopback}", loopback)
            )
            assert local.status_code == 401, loopback


async def test_own_origin_over_http_when_cookies_are_not_secure(
    tmp_path: Path, database_url: str
) -> None:
    async for client in edge_client(
        tmp_path, database_url, "http://authsvc.test", cookie_secure=False
    ):
        plain = await client.post(
            "/auth/refresh", headers=refresh_from("http://authsvc.test", "authsvc.test")
        )
        assert plain.status_code == 401
        other_scheme = await client.post(
            "/auth/refresh", headers=refresh_from("ftp://authsvc.test", "authsvc.test")
        )
        assert other_scheme.status_code == 403
