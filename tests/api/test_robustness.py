"""Malformed and hostile input gets a 4xx with a `detail`, never a 500."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.http import Tokens

JSON_ROUTES = ["/auth/login", "/auth/register", "/auth/password"]


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{bad json", "application/json"),
        (b"", "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b'"string"', "application/json"),
        (b'{"username": "a\\u0000b", "password": "x\\u0000yyyyyyyyy"}', "application/json"),
        (b"username=alice&password=x", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b'{"username": {"$ne": null}, "password": {"$ne": null}}', "application/json"),
    ],
)
async def test_malformed_bodies_are_4xx(
    client: httpx.AsyncClient, alice: Tokens, path: str, content: bytes, content_type: str
) -> None:
    response = await client.post(
        path, content=content, headers={"Content-Type": content_type, **alice.bearer}
    )
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "username",
    [
        "' OR '1'='1",
        "alice'; DROP TABLE users; --",
        "\uff41\uff4c\uff49\uff43\uff45",  # full-width "alice"
        "\u202eecila",
        "\u01c5" * 10,
        "\U0001f600" * 5,
    ],
)
async def test_hostile_usernames_never_error(
    client: httpx.AsyncClient, alice: Tokens, username: str
) -> None:
    login = await client.post("/auth/login", json={"username": username, "password": "whatever1"})
    assert login.status_code in (401, 422)
    register = await client.post(
        "/auth/register", json={"username": username, "password": "a fine passphrase"}
    )
    assert register.status_code in (201, 409, 422)
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


async def test_overlong_password_is_refused_without_hashing(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    long = "p" * 5_000  # fits the body limit, exceeds every password limit
    response = await client.post("/auth/login", json={"username": "alice", "password": long})
    assert response.status_code == 422
    assert long[:100] not in response.text


@pytest.mark.parametrize("size", [1_000_000, 10_000_000])
async def test_huge_bodies_are_413_before_anything_reads_them(
    client: httpx.AsyncClient, alice: Tokens, size: int
) -> None:
    huge = "p" * size
    started = time.perf_counter()
    response = await client.post("/auth/login", json={"username": "alice", "password": huge})
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}
    # Refused on the declared length, long before argon2 could chew through a megabyte.
    assert elapsed < 5


async def test_streamed_bodies_without_a_length_are_capped(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1_024

    response = await client.post(
        "/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/auth/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong_method = await client.get("/auth/login")
    assert wrong_method.status_code == 405
    assert "detail" in wrong_method.json()


async def test_oversized_headers_are_431(client: httpx.AsyncClient, alice: Tokens) -> None:
    response = await client.get("/auth/me", headers={**alice.bearer, "X-Padding": "a" * 20_000})
    assert response.status_code == 431
    assert response.json() == {"detail": "Request headers too large"}
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200
