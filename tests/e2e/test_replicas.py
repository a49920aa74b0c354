"""Two real `authsvc serve` replicas sharing one store and one Redis, over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    CSRF_HEADER,
    Server,
    ServerFactory,
    bearer,
    cookie_header,
    login,
    refresh,
    register,
    server_env,
    token_pair,
)


@pytest.fixture
def pair(servers: ServerFactory, tmp_path: Path, database_url: str) -> tuple[Server, Server]:
    env = server_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        REDIS_URL="redis://127.0.0.1:6379/0",
        REDIS_PREFIX=f"authsvc-e2e-{uuid.uuid4().hex[:12]}",
    )
    first = servers.start(env)
    second = servers.start(env)
    return first, second


def test_login_refresh_and_revocation_cross_replicas(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        register(on_a, "alice")
        tokens = login(on_a, "alice")
        assert on_b.get("/auth/verify", headers=bearer(tokens.access)).status_code == 200

        rotated = refresh(on_b, tokens.refresh)  # login on A, refresh on B
        assert rotated.status_code == 200
        newest = token_pair(rotated)
        assert on_a.get("/auth/me", headers=bearer(newest.access)).status_code == 200

        logout = on_a.post("/auth/logout", headers=cookie_header(newest.refresh))
        assert logout.status_code == 204
        deadline = time.monotonic() + 1.0
        while on_b.get("/auth/verify", headers=bearer(newest.access)).status_code != 401:
            assert time.monotonic() < deadline, "replica B still accepts a logged-out session"
            time.sleep(0.01)
        assert on_b.get("/auth/me", headers=bearer(tokens.access)).status_code == 401


def test_reuse_on_one_replica_revokes_on_the_other(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        register(on_a, "alice")
        first = login(on_a, "alice")
        second = token_pair(refresh(on_b, first.refresh))
        third = token_pair(refresh(on_b, second.refresh))

        assert refresh(on_a, first.refresh).status_code == 401  # two generations old: theft

        assert refresh(on_b, third.refresh).status_code == 401
        deadline = time.monotonic() + 1.0
        while on_b.get("/auth/verify", headers=bearer(third.access)).status_code != 401:
            assert time.monotonic() < deadline
            time.sleep(0.01)


def test_concurrent_refreshes_across_replicas_yield_one_successor(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    with a.client() as on_a:
        register(on_a, "alice")
        tokens = login(on_a, "alice")

    async def storm() -> list[httpx.Response]:
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=30) as ca,
            httpx.AsyncClient(base_url=b.base_url, timeout=30) as cb,
        ):
            return await asyncio.gather(
                *(
                    (ca if n % 2 else cb).post(
                        "/auth/refresh", headers={**cookie_header(tokens.refresh), **CSRF_HEADER}
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
        assert refresh(on_b, token_pair(successors[0]).refresh).status_code == 200
