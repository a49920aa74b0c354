"""The lean /auth/verify endpoint: FastAPI's route's answers without FastAPI's machinery.

`create_app` answers the path with `ForwardAuthEndpoint` straight from `GatewayMiddleware`;
the FastAPI route documents it and answers when the router is reached. Both must say the same
thing to a gateway, and the lean one must still carry what every middleware adds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.api import gateway
from authsvc.api.errors import install_error_handlers
from authsvc.container import Services
from tests.api.admin_helpers import grant
from tests.support.apps import asgi_client, running_app
from tests.support.http import Tokens, bearer, cookie_header, login, register
from tests.support.settings import make_settings

# What a gateway reads of the answer; the rest (request id, security headers) is the
# middlewares', checked below.
COMPARED = ("content-type", "www-authenticate", "cache-control")

QUERIES = [
    "",
    "role=ops",
    "role=ops&role=audit",
    "role=ops&role=admin",
    "role=",
    "role=%00",
    "role=a%20b",
    "mfa=1",
    "mfa=true",
    "mfa=YES",
    "mfa=0",
    "mfa=off",
    "mfa=0&mfa=1",
    "mfa=1&role=ops",
    "other=1",
]


def authorizations(tokens: Tokens) -> list[str | None]:
    return [
        None,
        "",
        "Bearer",
        f"Bearer {tokens.access}",
        f"bearer {tokens.access}",
        f"BEARER   {tokens.access}  ",
        f"Bearer\t{tokens.access}",
        f"Basic {tokens.access}",
        f"Bearer {tokens.refresh}",
        f"Bearer {tokens.access[:-2]}",
        "Bearer not.a.jwt",
    ]


@pytest.fixture
async def routed(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The FastAPI route alone, reached through a router, over the same running services."""
    plain = FastAPI()
    install_error_handlers(plain)
    plain.include_router(gateway.router)
    plain.state.services = app.state.services
    async with asgi_client(plain) as client:
        yield client


def seen_by_a_gateway(response: httpx.Response) -> tuple[object, ...]:
    identity = sorted((k, v) for k, v in response.headers.items() if k.startswith("x-auth-"))
    return (
        response.status_code,
        response.content,
        identity,
        [response.headers.get(name) for name in COMPARED],
    )


async def test_the_lean_endpoint_answers_exactly_as_the_fastapi_route(
    app: FastAPI, client: httpx.AsyncClient, routed: httpx.AsyncClient
) -> None:
    await register(client)
    await grant(app, "alice", "ops", "audit")
    live = await login(client)
    await register(client, "bob")
    ended = await login(client, "bob")
    await client.post("/auth/logout", headers=cookie_header(ended.refresh))

    compared = 0
    for tokens in (live, ended):
        for authorization in authorizations(tokens):
            headers = {} if authorization is None else {"Authorization": authorization}
            for query in QUERIES:
                lean = await client.get(f"/auth/verify?{query}", headers=headers)
                reference = await routed.get(f"/auth/verify?{query}", headers=headers)
                assert seen_by_a_gateway(lean) == seen_by_a_gateway(reference), (
                    authorization,
                    query,
                )
                compared += 1
    statuses = {(await client.get("/auth/verify?role=ops", headers=live.bearer)).status_code}
    assert statuses == {200}
    assert compared == 2 * len(authorizations(live)) * len(QUERIES)


@pytest.mark.parametrize("query", ["mfa=maybe", "mfa=", "mfa=%00", "mfa=1&mfa=2"])
async def test_a_malformed_mfa_flag_is_the_usual_401(
    client: httpx.AsyncClient, alice: Tokens, query: str
) -> None:
    # FastAPI's route would refuse it with 422, which GatewayMiddleware turns into 401 with a
    # validation body; the lean endpoint gives the same 401 as every other refusal.
    response = await client.get(f"/auth/verify?{query}", headers=alice.bearer)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_every_middleware_still_marks_the_answer(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    for headers in (alice.bearer, {}):
        response = await client.get("/auth/verify", headers={**headers, "X-Request-ID": "gw-7"})
        assert response.headers["x-request-id"] == "gw-7"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert response.headers["cache-control"] == "no-store"
    made = await client.post("/auth/verify", headers=alice.bearer)
    assert made.status_code == 200
    assert len(made.headers["x-request-id"]) == 32


async def test_verify_fills_the_cache_and_a_logout_still_ends_it_at_once(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    services: Services = app.state.services
    for _ in range(3):
        assert (await client.get("/auth/verify", headers=alice.bearer)).status_code == 200
    assert services.authenticator.cached_tokens == 1
    await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert (await client.get("/auth/verify", headers=alice.bearer)).status_code == 401
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 401


async def test_with_the_cache_off_every_check_still_works(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url=database_url, verify_cache_size=0)
    async with running_app(settings) as app, asgi_client(app) as client:
        await register(client)
        tokens = await login(client)
        for _ in range(3):
            assert (await client.get("/auth/verify", headers=tokens.bearer)).status_code == 200
        assert (await client.get("/auth/me", headers=tokens.bearer)).json()["username"] == "alice"
        services: Services = app.state.services
        assert services.authenticator.cached_tokens == 0
        await client.post("/auth/logout", headers=cookie_header(tokens.refresh))
        assert (await client.get("/auth/verify", headers=tokens.bearer)).status_code == 401


async def test_a_refused_token_is_never_remembered(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    head, body, signature = alice.access.split(".")
    forged = f"{head}.{body}.{signature[::-1]}"
    for _ in range(3):
        assert (await client.get("/auth/verify", headers=bearer(forged))).status_code == 401
    services: Services = app.state.services
    assert services.authenticator.cached_tokens == 0
    assert (await client.get("/auth/verify", headers=alice.bearer)).status_code == 200
    assert services.authenticator.cached_tokens == 1
