"""Two app instances ("replicas") sharing one store and one Redis, in one test process.

Revocations on one replica reach the other through Redis; throttling counts across both; with
Redis unreachable, revocation checks fall back to the store (failing closed) and throttling
falls back to each process's memory. tests/e2e/test_replica_processes.py runs replicas as real
`authsvc serve` processes.
"""

from __future__ import annotations

import httpx

from tests.replicas_in_process.conftest import Replicas
from tests.support.http import (
    COOKIE,
    PASSWORD,
    Tokens,
    cookie_header,
    login,
    register,
    seconds_until_refused,
)
from tests.support.settings import REDIS_URL

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


async def log_out_on_one_replica(a: httpx.AsyncClient, *, seen_by: httpx.AsyncClient) -> Tokens:
    """Alice logs in on `a`, the other replica accepts her token, she logs out on `a`."""
    await register(a)
    tokens = await login(a)
    assert (await seen_by.get("/auth/verify", headers=tokens.bearer)).status_code == 200
    await a.post("/auth/logout", headers=cookie_header(tokens.refresh))
    return tokens


async def test_logout_on_one_replica_reaches_the_other(replicas: Replicas) -> None:
    a, b = await replicas(REDIS_URL, REDIS_URL)
    tokens = await log_out_on_one_replica(a, seen_by=b)

    assert await seconds_until_refused(b, tokens) < 0.5
    assert (await b.get("/auth/me", headers=tokens.bearer)).status_code == 401


async def test_reuse_detected_on_one_replica_revokes_on_the_other(replicas: Replicas) -> None:
    a, b = await replicas(REDIS_URL, REDIS_URL)
    await register(a)
    tokens = await login(a)
    rotated = await b.post("/auth/refresh", headers=cookie_header(tokens.refresh))
    assert rotated.status_code == 200
    newest = Tokens(rotated.json()["access_token"], rotated.cookies[COOKIE])
    # A second rotation makes the first token two generations old: reuse, not a grace replay.
    again = await b.post("/auth/refresh", headers=cookie_header(newest.refresh))
    newest = Tokens(again.json()["access_token"], again.cookies[COOKIE])

    reuse = await a.post("/auth/refresh", headers=cookie_header(tokens.refresh))

    assert reuse.status_code == 401
    await seconds_until_refused(b, newest)
    refreshed = await b.post("/auth/refresh", headers=cookie_header(newest.refresh))
    assert refreshed.status_code == 401


async def test_replicas_count_failed_logins_together(replicas: Replicas) -> None:
    a, b = await replicas(REDIS_URL, REDIS_URL, throttle_per_account="3/minute")
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
    a, b = await replicas(REDIS_URL, REDIS_URL, throttle_per_account="3/minute")
    await register(a)
    await login(a)  # proves 127.0.0.1 on the account, in Redis
    body = {"username": "alice", "password": "not the password"}
    statuses = [(await b.post("/auth/login", json=body)).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # the owner's login took the first of the three

    assert (await login(a)).access  # the owner is not locked out
    restarted, *_ = await replicas(REDIS_URL, throttle_per_account="3/minute")
    assert (await login(restarted)).access  # a new process reads the same proof


async def test_without_redis_revocations_are_read_from_the_store(replicas: Replicas) -> None:
    # Replica b cannot reach Redis, so it cannot hear a's revocations: it must ask the store
    # on every check rather than trust its own (empty) list.
    a, b = await replicas(REDIS_URL, DEAD_REDIS)
    tokens = await log_out_on_one_replica(a, seen_by=b)

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
    healthy, cut_off = await replicas(REDIS_URL, DEAD_REDIS)
    assert (await healthy.get("/readyz")).status_code == 200
    not_ready = await cut_off.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json() == {"detail": "Service temporarily unavailable"}
    assert not_ready.headers["retry-after"] == "1"
    assert (await cut_off.get("/healthz")).status_code == 200
