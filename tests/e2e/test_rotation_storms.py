"""Rotations at once through one real `authsvc serve`, on SQLite and PostgreSQL.

On a SQLite file one server commits many rotations in one transaction (store/group_commit.py):
however they are grouped, each presentation must get exactly its own outcome.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from jose import jwt

from tests.support.http import CSRF_HEADER, cookie_header, login_sync, register_sync, token_pair
from tests.support.processes import Server, ServerFactory, server_env

STORM = 50


@pytest.fixture
def server(servers: ServerFactory, tmp_path: Path, database_url: str) -> Server:
    return servers.start(
        server_env(
            tmp_path / "unused.db",
            DATABASE_URL=database_url,
            THROTTLE_PER_IP="10000/minute",
            THROTTLE_PER_ACCOUNT_IP="10000/minute",
            THROTTLE_PER_ACCOUNT="10000/minute",
        )
    )


def presented_at_once(server: Server, refresh_tokens: list[str]) -> list[httpx.Response]:
    """Every token POSTed to /auth/refresh at the same moment; answers in the same order."""

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post("/auth/refresh", headers={**cookie_header(token), **CSRF_HEADER})
                    for token in refresh_tokens
                )
            )

    return asyncio.run(storm())


def sid(access_token: str) -> str:
    session_id: str = jwt.get_unverified_claims(access_token)["sid"]
    return session_id


def session_of(response: httpx.Response) -> str:
    return sid(response.json()["access_token"])


def test_fifty_presentations_of_one_token_yield_one_successor(server: Server) -> None:
    with server.client() as client:
        register_sync(client, "alice")
        tokens = login_sync(client, "alice")

    responses = presented_at_once(server, [tokens.refresh] * STORM)

    statuses = [r.status_code for r in responses]
    assert statuses == [200] * STORM, statuses
    successors = [r for r in responses if "set-cookie" in r.headers]
    assert len(successors) == 1, statuses
    successor = token_pair(successors[0])
    with server.client() as client:
        following = client.post(
            "/auth/refresh", headers={**cookie_header(successor.refresh), **CSRF_HEADER}
        )
        assert following.status_code == 200
        assert "set-cookie" in following.headers


def test_each_presentation_in_a_storm_gets_its_own_outcome(server: Server) -> None:
    # Twelve sessions each presented twice (one rotation, one grace replay), one session
    # presented with a token two generations old (reuse: refused, the session ends), and
    # one session whose current token is presented once, all in the same instant.
    with server.client() as client:
        register_sync(client, "alice")
        pairs = [login_sync(client, "alice") for _ in range(12)]
        stolen = login_sync(client, "alice")
        newer = token_pair(
            client.post("/auth/refresh", headers={**cookie_header(stolen.refresh), **CSRF_HEADER})
        )
        token_pair(
            client.post("/auth/refresh", headers={**cookie_header(newer.refresh), **CSRF_HEADER})
        )
        single = login_sync(client, "alice")

    presented = [t.refresh for t in pairs] * 2 + [stolen.refresh, single.refresh]
    responses = presented_at_once(server, presented)

    for n, tokens in enumerate(pairs):
        first, second = responses[n], responses[n + len(pairs)]
        assert (first.status_code, second.status_code) == (200, 200)
        cookies = ["set-cookie" in first.headers, "set-cookie" in second.headers]
        assert sorted(cookies) == [False, True], f"session {n}: {cookies}"
        # Both answers speak for this very session, not for another one of the batch.
        assert session_of(first) == session_of(second) == sid(tokens.access)
    reused, fresh = responses[-2], responses[-1]
    assert reused.status_code == 401, reused.text
    assert fresh.status_code == 200
    assert "set-cookie" in fresh.headers
    assert session_of(fresh) == sid(single.access)
    with server.client() as client:
        # The reused session is over: its newest access token stops working.
        assert client.get("/auth/verify", headers=newer.bearer).status_code == 401
        assert client.get("/auth/verify", headers=token_pair(fresh).bearer).status_code == 200
