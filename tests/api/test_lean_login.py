"""The lean `POST /auth/login` endpoint: the FastAPI route's answers without its machinery.

`create_app` answers the POST with `LoginEndpoint` straight from `GatewayMiddleware` when its
body is JSON the route accepts, and hands every other body on to the route; the route in
api/auth.py documents the path and answers when the router is reached. A browser, a client
library and the metrics must not tell them apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp

from authsvc.api.gateway import GatewayMiddleware
from authsvc.container import Services
from authsvc.errors import StoreUnavailable
from authsvc.roles import ADMIN
from authsvc.settings import Settings
from authsvc.store.records import UserChanges
from tests.support.http import PASSWORD, login, parse_set_cookie, register
from tests.support.lean_endpoints import reached_through, seen_by_a_client
from tests.support.mfa import enrol_totp
from tests.support.scrape import Scrape
from tests.support.settings import FakeClock, make_settings

SPA = "https://app.example.com"
EVIL = "https://evil.example"
JSON = {"Content-Type": "application/json"}

Request = tuple[dict[str, str], bytes]  # headers, body
Case = Callable[[httpx.AsyncClient, FastAPI], Awaitable[Request]]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path, database_url=database_url, allowed_origins=SPA, throttle_per_account_ip="2/minute"
    )


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def sending(raw: bytes, **headers: str) -> Case:
    """A POST of `raw` with these headers (JSON's content type unless they name another)."""

    async def case(_: httpx.AsyncClient, __: FastAPI) -> Request:
        return {**JSON, **headers}, raw

    return case


def signing_in(username: str = "alice", password: str = PASSWORD, **headers: str) -> Case:
    return sending(body(username=username, password=password), **headers)


async def new_user(client: httpx.AsyncClient) -> str:
    """A new account, so that failures counted against one never throttle another case."""
    username = f"user{uuid.uuid4().hex[:8]}"
    await register(client, username)
    return username


def failing_with(password: str) -> Case:
    async def case(client: httpx.AsyncClient, _: FastAPI) -> Request:
        return JSON, body(username=await new_user(client), password=password)

    return case


async def throttled(client: httpx.AsyncClient, _: FastAPI) -> Request:
    username = await new_user(client)
    for _attempt in range(2):
        wrong = await client.post("/auth/login", json={"username": username, "password": "nope"})
        assert wrong.status_code == 401
    return JSON, body(username=username, password=PASSWORD)


async def disabled(client: httpx.AsyncClient, app: FastAPI) -> Request:
    username = await new_user(client)
    services: Services = app.state.services
    user = await services.core.store.get_user_by_username(username)
    assert user is not None
    await services.core.store.update_user(
        user.id, UserChanges(disabled=True), now=services.core.clock(), keep_holder_of=ADMIN
    )
    return JSON, body(username=username, password=PASSWORD)


CASES: dict[str, Case] = {
    "valid": signing_in(),
    "valid, charset": signing_in(**{"Content-Type": "application/json; charset=utf-8"}),
    "extra field": sending(body(username="alice", password=PASSWORD, remember=True)),
    "wrong password": failing_with("not it at all"),
    "unknown user": signing_in(username="nobody"),
    "over-long password": failing_with("x" * 5000),
    "throttled": throttled,
    "disabled account": disabled,
    "cross-site Origin": signing_in(Origin=EVIL),
    "Sec-Fetch-Site cross-site": signing_in(**{"Sec-Fetch-Site": "cross-site"}),
    "allowed origin": signing_in(Origin=SPA),
    "not JSON": sending(b"{username: alice"),
    "empty body": sending(b""),
    "a list": sending(b"[1, 2]"),
    "missing password": sending(body(username="alice")),
    "password a number": sending(body(username="alice", password=12345678)),
    "empty username": signing_in(username=""),
    "form body": sending(
        b"username=alice&password=x", **{"Content-Type": "application/x-www-form-urlencoded"}
    ),
    "no content type": sending(body(username="alice", password=PASSWORD), **{"Content-Type": ""}),
    "text/plain": sending(
        body(username="alice", password=PASSWORD), **{"Content-Type": "text/plain"}
    ),
    "not UTF-8": sending('{"username": "alice", "password": "é"}'.encode("utf-16")),
    "cross-site and not JSON": sending(b"{", Origin=EVIL),
}


async def test_the_lean_endpoint_answers_exactly_as_the_fastapi_route(
    app: FastAPI, client: httpx.AsyncClient, lean: httpx.AsyncClient, routed: httpx.AsyncClient
) -> None:
    await register(client)
    statuses = set()
    for name, case in CASES.items():
        answers = []
        for side in (lean, routed):
            headers, content = await case(client, app)
            headers = {key: value for key, value in headers.items() if value}
            answers.append(await side.post("/auth/login", headers=headers, content=content))
        answer, reference = answers
        assert seen_by_a_client(answer) == seen_by_a_client(reference), name
        statuses.add(answer.status_code)
    # The matrix reaches every kind of answer the route gives.
    assert statuses == {200, 401, 403, 422, 429}


async def test_a_login_with_a_second_factor_is_the_same_challenge_from_both(
    client: httpx.AsyncClient, lean: httpx.AsyncClient, routed: httpx.AsyncClient, clock: FakeClock
) -> None:
    await register(client)
    await enrol_totp(client, await login(client), clock())
    answers = [
        await side.post(
            "/auth/login", headers=JSON, content=body(username="alice", password=PASSWORD)
        )
        for side in (lean, routed)
    ]
    assert answers[0].json()["mfa_required"] is True
    assert "set-cookie" not in answers[0].headers
    assert seen_by_a_client(answers[0]) == seen_by_a_client(answers[1])


class OpeningsFail:
    """The real store, except that every session opening finds the database gone."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def open_session(self, *args: object, **kwargs: object) -> object:
        raise StoreUnavailable("database unavailable")


async def test_a_store_outage_is_the_same_503_from_both(
    app: FastAPI, client: httpx.AsyncClient, lean: httpx.AsyncClient, routed: httpx.AsyncClient
) -> None:
    await register(client)
    services = app.state.services
    app.state.services = services.with_store(OpeningsFail(services.core.store))
    try:
        answer, reference = [
            await side.post(
                "/auth/login", headers=JSON, content=body(username="alice", password=PASSWORD)
            )
            for side in (lean, routed)
        ]
    finally:
        app.state.services = services
    assert answer.status_code == 503
    assert seen_by_a_client(answer) == seen_by_a_client(reference)


async def test_a_lean_login_opens_a_working_session_under_its_route_label(
    client: httpx.AsyncClient, lean: httpx.AsyncClient
) -> None:
    await register(client)
    signed_in = await lean.post(
        "/auth/login", headers=JSON, content=body(username="alice", password=PASSWORD)
    )
    assert signed_in.status_code == 200
    assert parse_set_cookie(signed_in.headers["set-cookie"]).value
    me = await lean.get(
        "/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert signed_in.headers["x-content-type-options"] == "nosniff"
    assert len(signed_in.headers["x-request-id"]) == 32
    refused = await lean.post("/auth/login", headers=JSON, content=b"{}")
    assert refused.status_code == 422

    scrape = Scrape.parse((await lean.get("/metrics")).text)
    for status, count in (("2xx", 1), ("4xx", 1)):
        labels = {"method": "POST", "route": "/auth/login", "status": status}
        assert scrape.value("authsvc_http_requests_total", **labels) == count


async def test_the_gateway_sends_only_the_login_post_to_the_lean_endpoint() -> None:
    behind: list[ASGIApp] = []

    def gateway(app: ASGIApp, lean: ASGIApp) -> ASGIApp:
        def lean_login(routed: ASGIApp) -> ASGIApp:
            behind.append(routed)
            return lean

        gateway = GatewayMiddleware(app, login=lean_login)
        assert behind == [app]  # what the lean endpoint leaves to the route goes on there
        return gateway

    requests = [
        ("POST", "/auth/login"),
        ("GET", "/auth/login"),
        ("POST", "/auth/login/"),
        ("POST", "/auth/login/mfa"),
        ("POST", "/auth/token"),
        ("POST", "/auth/refresh"),
    ]
    assert await reached_through(gateway, requests) == [
        "lean POST /auth/login",
        "app GET /auth/login",
        "app POST /auth/login/",
        "app POST /auth/login/mfa",
        "app POST /auth/token",
        "app POST /auth/refresh",
    ]
