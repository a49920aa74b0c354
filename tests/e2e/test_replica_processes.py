"""Two real `authsvc serve` replicas sharing one store and one Redis, over loopback HTTP.

The in-process kind, several apps in this test process, is tests/replicas_in_process/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.http import (
    CSRF_HEADER,
    bearer,
    cookie_header,
    login_sync,
    refresh_sync,
    register_sync,
    token_pair,
)
from tests.support.polling import eventually_sync
from tests.support.processes import Server, ServerFactory, redis_env


@pytest.fixture
def pair(servers: ServerFactory, tmp_path: Path, database_url: str) -> tuple[Server, Server]:
    env = redis_env(tmp_path / "unused.db", DATABASE_URL=database_url)
    first = servers.start(env)
    second = servers.start(env)
    return first, second


def soon_refused(replica: httpx.Client, access_token: str) -> None:
    """Within a second, `replica` refuses an access token another replica revoked."""

    def refused() -> None:
        status = replica.get("/auth/verify", headers=bearer(access_token)).status_code
        assert status == 401, "replica B still accepts a revoked session"

    eventually_sync(refused, timeout=1.0, interval=0.01)


def test_login_refresh_and_revocation_cross_replicas(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        register_sync(on_a, "alice")
        tokens = login_sync(on_a, "alice")
        assert on_b.get("/auth/verify", headers=tokens.bearer).status_code == 200

        rotated = refresh_sync(on_b, tokens.refresh)  # login on A, refresh on B
        assert rotated.status_code == 200
        newest = token_pair(rotated)
        assert on_a.get("/auth/me", headers=newest.bearer).status_code == 200

        logout = on_a.post("/auth/logout", headers=cookie_header(newest.refresh))
        assert logout.status_code == 204
        soon_refused(on_b, newest.access)
        assert on_b.get("/auth/me", headers=tokens.bearer).status_code == 401


def test_reuse_on_one_replica_revokes_on_the_other(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        register_sync(on_a, "alice")
        first = login_sync(on_a, "alice")
        second = token_pair(refresh_sync(on_b, first.refresh))
        third = token_pair(refresh_sync(on_b, second.refresh))

        assert refresh_sync(on_a, first.refresh).status_code == 401  # two generations old: theft

        assert refresh_sync(on_b, third.refresh).status_code == 401
        soon_refused(on_b, third.access)


def test_concurrent_refreshes_across_replicas_yield_one_successor(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    with a.client() as on_a:
        register_sync(on_a, "alice")
        tokens = login_sync(on_a, "alice")

    async def storm() -> list[httpx.Response]:
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=30) as ca,
            httpx.AsyncClient(base_url=b.base_url, timeout=30) as cb,
        ):
            return await asyncio.gather(
                *(
                    (ca if n % 2 else cb).post(
                        "/auth/refresh",
                        headers={**cookie_header(tokens.refresh), **CSRF_HEADER},
                    )
                    for n in range(50)
                )
            )

    responses = asyncio.run(storm())
    statuses = [r.status_code for r in responses]
    assert all(status < 500 for status in statuses), statuses
    successors = [r for r in responses if "set-cookie" in r.headers]
    assert len(successors) == 1, statuses
    # Everyone else was inside the grace window and got an access token without a cookie.
    assert statuses.count(200) == 50, statuses
    with b.client() as on_b:
        assert refresh_sync(on_b, token_pair(successors[0]).refresh).status_code == 200


def test_a_token_cached_on_one_replica_dies_there_when_the_other_revokes_it(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        register_sync(on_a, "alice")
        tokens = login_sync(on_a, "alice")
        # B verifies the signature once and answers the rest from its cache.
        for _ in range(5):
            assert on_b.get("/auth/verify", headers=tokens.bearer).status_code == 200
        assert on_a.post("/auth/logout", headers=cookie_header(tokens.refresh)).status_code == 204
        soon_refused(on_b, tokens.access)
        assert on_b.get("/auth/me", headers=tokens.bearer).status_code == 401
