"""Two app instances ("replicas") sharing one store and one Redis, in one test process.

Revocations on one replica reach the other through Redis; throttling counts across both; with
Redis unreachable, revocation checks fall back to the store (failing closed) and throttling
falls back to each process's memory.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from authsvc.app import create_app
from authsvc.settings import Settings
from tests.support import (
    BASE_URL,
    COOKIE,
    CSRF_HEADER,
    PASSWORD,
    LoggedIn,
    login,
    make_settings,
    refresh_cookie,
    register,
)

REDIS = "redis://127.0.0.1:6379/0"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1

Replicas = Callable[..., Awaitable[list[httpx.AsyncClient]]]


@pytest.fixture
async def replicas(tmp_path: Path, database_url: str) -> AsyncIterator[Replicas]:
    """Start N replicas on the same store; each test gets a Redis namespace of its own."""
    prefix = f"authsvc-test-{uuid.uuid4().hex[:12]}"
    async with AsyncExitStack() as stack:

        async def start(*redis_urls: str | None, **overrides: object) -> list[httpx.AsyncClient]:
            clients = []
            for n, redis_url in enumerate(redis_urls):
                settings: Settings = make_settings(
                    tmp_path,
                    database_url=database_url,
                    redis_url=redis_url,
                    redis_prefix=prefix,
                    **overrides,
                )
                app = create_app(settings)
                await stack.enter_async_context(LifespanManager(app))
                transport = httpx.ASGITransport(app=app, client=(f"127.0.0.{n + 1}", 5000))
                clients.append(
                    await stack.enter_async_context(
                        httpx.AsyncClient(
                            transport=transport, base_url=BASE_URL, headers=CSRF_HEADER
                        )
                    )
                )
            return clients

        yield start


async def eventually_401(client: httpx.AsyncClient, tokens: LoggedIn) -> float:
    """Seconds until the replica refuses the token; fails past a generous bound."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 1.0:
        if (await client.get("/auth/verify", headers=tokens.bearer)).status_code == 401:
            return loop.time() - started
        await asyncio.sleep(0.005)
    pytest.fail("the revocation never reached the other replica")


async def test_logout_on_one_replica_reaches_the_other(replicas: Replicas) -> None:
    a, b = await replicas(REDIS, REDIS)
    await register(a)
    tokens = await login(a)
    assert (await b.get("/auth/verify", headers=tokens.bearer)).status_code == 200

    await a.post("/auth/logout", headers=refresh_cookie(tokens.refresh_token))

    assert await eventually_401(b, tokens) < 0.5
    assert (await b.get("/auth/me", headers=tokens.bearer)).status_code == 401


async def test_reuse_detected_on_one_replica_revokes_on_the_other(replicas: Replicas) -> None:
    a, b = await replicas(REDIS, REDIS)
    await register(a)
    tokens = await login(a)
    rotated = await b.post("/auth/refresh", headers=refresh_cookie(tokens.refresh_token))
    assert rotated.status_code == 200
    newest = LoggedIn(rotated.json()["access_token"], rotated.cookies[COOKIE])
    # A second rotation makes the first token two generations old: reuse, not a grace replay.
    again = await b.post("/auth/refresh", headers=refresh_cookie(newest.refresh_token))
    newest = LoggedIn(again.json()["access_token"], again.cookies[COOKIE])

    reuse = await a.post("/auth/refresh", headers=refresh_cookie(tokens.refresh_token))

    assert reuse.status_code == 401
    await eventually_401(b, newest)
    refreshed = await b.post("/auth/refresh", headers=refresh_cookie(newest.refresh_token))
    assert refreshed.status_code == 401


async def test_replicas_count_failed_logins_together(replicas: Replicas) -> None:
    a, b = await replicas(REDIS, REDIS, throttle_per_account="3/minute")
    await register(a)
    body = {"username": "alice", "password": "not the password"}
    assert (await a.post("/auth/login", json=body)).status_code == 401
    assert (await b.post("/auth/login", json=body)).status_code == 401
    assert (await a.post("/auth/login", json=body)).status_code == 401
    throttled = await b.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert throttled.status_code == 429


async def test_an_address_proven_on_one_replica_is_remembered_in_redis(
    replicas: Replicas,
) -> None:
    # Replica a serves the owner (127.0.0.1), replica b an attacker (127.0.0.2).
    a, b = await replicas(REDIS, REDIS, throttle_per_account="3/minute")
    await register(a)
    await login(a)  # proves 127.0.0.1 on the account, in Redis
    body = {"username": "alice", "password": "not the password"}
    statuses = [(await b.post("/auth/login", json=body)).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # the owner's login took the first of the three

    assert (await login(a)).access_token  # the owner is not locked out
    restarted, *_ = await replicas(REDIS, throttle_per_account="3/minute")
    assert (await login(restarted)).access_token  # a new process reads the same proof


async def test_without_redis_revocations_are_read_from_the_store(replicas: Replicas) -> None:
    # Replica b cannot reach Redis, so it cannot hear a's revocations: it must ask the store
    # on every check rather than trust its own (empty) list.
    a, b = await replicas(REDIS, DEAD_REDIS)
    await register(a)
    tokens = await login(a)
    assert (await b.get("/auth/verify", headers=tokens.bearer)).status_code == 200

    await a.post("/auth/logout", headers=refresh_cookie(tokens.refresh_token))

    assert (await b.get("/auth/verify", headers=tokens.bearer)).status_code == 401
    assert (await b.get("/auth/me", headers=tokens.bearer)).status_code == 401


async def test_without_redis_throttling_still_counts_per_process(replicas: Replicas) -> None:
    (only,) = await replicas(DEAD_REDIS, throttle_per_account="2/minute")
    await register(only)
    body = {"username": "alice", "password": "not the password"}
    assert (await only.post("/auth/login", json=body)).status_code == 401
    assert (await only.post("/auth/login", json=body)).status_code == 401
    assert (await only.post("/auth/login", json=body)).status_code == 429


async def test_readyz_answers_503_while_redis_is_unreachable(replicas: Replicas) -> None:
    # The replica serves (falling back on the store and on per-process counters) but tells
    # the orchestrator it is not fit for traffic until Redis answers.
    healthy, cut_off = await replicas(REDIS, DEAD_REDIS)
    assert (await healthy.get("/readyz")).status_code == 200
    not_ready = await cut_off.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json() == {"detail": "Service temporarily unavailable"}
    assert not_ready.headers["retry-after"] == "1"
    assert (await cut_off.get("/healthz")).status_code == 200
