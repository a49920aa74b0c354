"""GET /auth/verify: forward-auth for gateways answers only 200 or 401, whatever comes in."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from authsvc.api.gateway import VERIFY_PATH, GatewayMiddleware
from authsvc.deps import get_services
from tests.api.test_health import break_store
from tests.support.http import BASE_URL, Tokens, cookie_header, login, register

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def assert_denied(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert not any(name.lower().startswith("x-auth-") for name in response.headers)


async def test_valid_token_passes_with_identity_headers(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    me = (await client.get("/auth/me", headers=alice.bearer)).json()
    response = await client.get("/auth/verify", headers=alice.bearer)
    assert response.status_code == 200
    assert response.headers["x-auth-subject"] == me["id"]
    assert response.headers["x-auth-username"] == "alice"
    sessions = (await client.get("/auth/sessions", headers=alice.bearer)).json()["sessions"]
    assert response.headers["x-auth-session"] == sessions[0]["id"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("method", METHODS)
async def test_every_method_gets_200_or_401(
    client: httpx.AsyncClient, alice: Tokens, method: str
) -> None:
    ok = await client.request(method, "/auth/verify", headers=alice.bearer)
    assert ok.status_code == 200
    assert_denied(await client.request(method, "/auth/verify"))


async def test_non_latin_usernames_are_percent_encoded(client: httpx.AsyncClient) -> None:
    await register(client, "zoë_ünal")
    tokens = await login(client, "zoë_ünal")
    response = await client.get("/auth/verify", headers=tokens.bearer)
    assert response.status_code == 200
    assert unquote(response.headers["x-auth-username"]) == "zoë_ünal"
    assert response.headers["x-auth-username"].isascii()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer    ",
        "Basic YWxpY2U6cGFzcw==",
        "Bearer not.a.jwt",
        "Bearer " + "x" * 5_000,
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "bearer \x00",
    ],
)
async def test_anything_else_is_401(
    client: httpx.AsyncClient, alice: Tokens, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_denied(await client.get("/auth/verify", headers=headers))


async def test_refresh_token_does_not_pass(client: httpx.AsyncClient, alice: Tokens) -> None:
    response = await client.get(
        "/auth/verify", headers={"Authorization": f"Bearer {alice.refresh}"}
    )
    assert_denied(response)


async def test_revoked_session_fails_at_once(client: httpx.AsyncClient, alice: Tokens) -> None:
    assert (await client.get("/auth/verify", headers=alice.bearer)).status_code == 200
    await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert_denied(await client.get("/auth/verify", headers=alice.bearer))


async def test_oversized_requests_are_401_not_431_or_413(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    assert_denied(await client.get("/auth/verify", headers={**alice.bearer, "X-Pad": "a" * 20_000}))
    assert_denied(await client.post("/auth/verify", headers=alice.bearer, content=b"x" * 100_000))


async def test_verify_needs_no_database_round_trip(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    # With the store unreachable, verification still answers from the token and the
    # in-memory revocation list, so the gateway's hot path never waits on the database.
    broken = break_store(app)
    try:
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/auth/verify", headers=alice.bearer)).status_code == 200
    finally:
        app.dependency_overrides.pop(get_services)
        await broken.close()


@pytest.mark.parametrize("status", [400, 404, 405, 413, 431, 500, 503])
async def test_gateway_middleware_turns_any_refusal_on_verify_into_401(status: int) -> None:
    # Whatever a layer inside answers, a gateway must only ever see 200 or 401 (nginx turns
    # anything else into a 500 for the end user); other paths keep their answer.
    seen_methods: list[str] = []

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        seen_methods.append(scope["method"])
        body = b'{"detail": "refused"}'
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=GatewayMiddleware(refuse))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as gateway:
        assert_denied(await gateway.request("PROPFIND", VERIFY_PATH))
        assert (await gateway.post("/auth/login")).status_code == status
    assert seen_methods == ["GET", "POST"]
