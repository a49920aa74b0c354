"""The lean `POST /auth/refresh` endpoint: the FastAPI route's answers without its machinery.

`create_app` answers the POST with `RefreshEndpoint` straight from `GatewayMiddleware`; the
route in api/auth.py documents the path and answers when the router is reached. A browser, a
client library and the metrics must not tell them apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.api.gateway import GatewayMiddleware
from authsvc.errors import StoreUnavailable
from authsvc.settings import Settings
from tests.support.http import (
    COOKIE,
    CSRF_HEADER,
    login,
    parse_set_cookie,
    register,
    rotate,
)
from tests.support.lean_endpoints import reached_through, seen_by_a_client
from tests.support.scrape import Scrape
from tests.support.settings import FakeClock, make_settings

SPA = "https://app.example.com"
EVIL = "https://evil.example"

Request = tuple[str, dict[str, str]]  # method, headers
Case = Callable[[httpx.AsyncClient, FakeClock], Awaitable[Request]]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url, allowed_origins=SPA)


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


async def fresh(client: httpx.AsyncClient) -> str:
    return (await login(client)).refresh


def presenting(**headers: str) -> Case:
    """A POST with a refresh token of a new session and these headers."""

    async def case(client: httpx.AsyncClient, _: FakeClock) -> Request:
        return "POST", {**cookie(await fresh(client)), **headers}

    return case


def calling(method: str) -> Case:
    async def case(client: httpx.AsyncClient, _: FakeClock) -> Request:
        return method, {**cookie(await fresh(client)), **CSRF_HEADER}

    return case


def sending(**headers: str) -> Case:
    async def case(client: httpx.AsyncClient, _: FakeClock) -> Request:
        return "POST", headers

    return case


async def replayed_in_grace(client: httpx.AsyncClient, _: FakeClock) -> Request:
    token = await fresh(client)
    assert (await rotate(client, token)).status_code == 200
    return "POST", {**cookie(token), **CSRF_HEADER}


async def reused(client: httpx.AsyncClient, clock: FakeClock) -> Request:
    token = await fresh(client)
    assert (await rotate(client, token)).status_code == 200
    clock.advance(60)  # past the grace window
    return "POST", {**cookie(token), **CSRF_HEADER}


async def ended(client: httpx.AsyncClient, _: FakeClock) -> Request:
    token = await fresh(client)
    logout = await client.post("/auth/logout", headers={**cookie(token), **CSRF_HEADER})
    assert logout.status_code == 204
    return "POST", {**cookie(token), **CSRF_HEADER}


async def duplicated(client: httpx.AsyncClient, _: FakeClock) -> Request:
    token = await fresh(client)
    return "POST", {"Cookie": f"{COOKIE}={token}; {COOKIE}=planted", **CSRF_HEADER}


CASES: dict[str, Case] = {
    "no cookie": sending(**CSRF_HEADER),
    "nothing at all": sending(),
    "bad cookie": sending(**cookie("not-a-token"), **CSRF_HEADER),
    "empty cookie": sending(**cookie(""), **CSRF_HEADER),
    "valid": presenting(**CSRF_HEADER),
    "replayed in the grace window": replayed_in_grace,
    "reused": reused,
    "ended session": ended,
    "two cookies": duplicated,
    "missing CSRF header": presenting(),
    "blank CSRF header": presenting(**{"X-Requested-With": " "}),
    "cross-site Origin": presenting(Origin=EVIL, **CSRF_HEADER),
    "null Origin": presenting(Origin="null", **CSRF_HEADER),
    "Sec-Fetch-Site cross-site": presenting(**{"Sec-Fetch-Site": "cross-site"}, **CSRF_HEADER),
    "Sec-Fetch-Site same-origin": presenting(**{"Sec-Fetch-Site": "same-origin"}, **CSRF_HEADER),
    "allowed origin": presenting(Origin=SPA, **CSRF_HEADER),
    "own origin": presenting(Origin="https://authsvc.test", **CSRF_HEADER),
    "own host over http": presenting(Origin="http://authsvc.test", **CSRF_HEADER),
    "allowed origin, no CSRF header": presenting(Origin=SPA),
    "GET": calling("GET"),
    "PUT": calling("PUT"),
    "DELETE": calling("DELETE"),
    "HEAD": calling("HEAD"),
    "OPTIONS without a preflight": calling("OPTIONS"),
}


async def test_the_lean_endpoint_answers_exactly_as_the_fastapi_route(
    client: httpx.AsyncClient,
    lean: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await register(client)
    statuses = set()
    for name, case in CASES.items():
        method, headers = await case(client, clock)
        answer = await lean.request(method, "/auth/refresh", headers=headers)
        method, headers = await case(client, clock)
        reference = await routed.request(method, "/auth/refresh", headers=headers)
        assert seen_by_a_client(answer) == seen_by_a_client(reference), name
        statuses.add(answer.status_code)
    # The matrix reaches every kind of answer the route gives.
    assert statuses == {200, 400, 401, 403, 405}


class RotationsFail:
    """The real store, except that every rotation finds the database gone."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def rotate(self, session_id: str, rotation: object) -> object:
        raise StoreUnavailable("database unavailable")


async def test_a_store_outage_is_the_same_503_from_both(
    app: FastAPI,
    client: httpx.AsyncClient,
    lean: httpx.AsyncClient,
    routed: httpx.AsyncClient,
) -> None:
    await register(client)
    tokens = [await fresh(client), await fresh(client)]
    services = app.state.services
    app.state.services = services.with_store(RotationsFail(services.core.store))
    try:
        answer, reference = [
            await side.post("/auth/refresh", headers={**cookie(token), **CSRF_HEADER})
            for side, token in zip((lean, routed), tokens, strict=True)
        ]
    finally:
        app.state.services = services
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert seen_by_a_client(answer) == seen_by_a_client(reference)


async def test_a_lean_rotation_yields_a_working_successor_and_its_route_label(
    client: httpx.AsyncClient, lean: httpx.AsyncClient
) -> None:
    await register(client)
    first = await lean.post("/auth/refresh", headers={**cookie(await fresh(client)), **CSRF_HEADER})
    assert first.status_code == 200
    successor = parse_set_cookie(first.headers["set-cookie"]).value
    second = await lean.post("/auth/refresh", headers={**cookie(successor), **CSRF_HEADER})
    assert second.status_code == 200
    me = await lean.get(
        "/auth/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert first.headers["x-content-type-options"] == "nosniff"
    assert len(first.headers["x-request-id"]) == 32

    scrape = Scrape.parse((await lean.get("/metrics")).text)
    labels = {"method": "POST", "route": "/auth/refresh", "status": "2xx"}
    assert scrape.value("authsvc_http_requests_total", **labels) == 2


async def test_the_gateway_sends_only_the_refresh_post_to_the_lean_endpoint() -> None:
    requests = [
        ("POST", "/auth/refresh"),
        ("GET", "/auth/refresh"),
        ("OPTIONS", "/auth/refresh"),
        ("POST", "/auth/refresh/"),
        ("POST", "/auth/logout"),
    ]
    reached = await reached_through(
        lambda app, lean: GatewayMiddleware(app, refresh=lean), requests
    )
    assert reached == [
        "lean POST /auth/refresh",
        "app GET /auth/refresh",
        "app OPTIONS /auth/refresh",
        "app POST /auth/refresh/",
        "app POST /auth/logout",
    ]
