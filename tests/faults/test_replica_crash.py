"""A replica dies with SIGKILL under refresh load; the survivor loses and half-rotates nothing.

Two `authsvc serve` replicas share this run's PostgreSQL database and the shared Redis (a
prefix of this test's own). Each client follows one session's rotations sequentially,
alternating replicas, until A is killed. A rotation either committed (the new cookie is
current, the old one is inside the grace window) or did not (the old cookie is still
current); either way one of the client's cookies must still work on B, and nothing may be
revoked as reuse, since no client ever presents a cookie twice on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from tests.support.http import bearer, login_sync, refresh_sync, register_sync, token_pair
from tests.support.polling import eventually_sync
from tests.support.processes import Server, ServerFactory, redis_env

CLIENTS = 8  # alternate A and B until A dies
B_ONLY_CLIENTS = 2  # keep B busy through the crash and after it, for the whole load
# A is killed once every alternating client has completed a refresh on each replica (a fixed
# delay was not enough on a loaded machine); the load stops once each of them has found A
# gone, and B has served a while alone.
WARM_UP_TIMEOUT_SECONDS = 20.0
AFTER_KILL_SECONDS = 1.0
LOAD_LIMIT_SECONDS = 40.0  # no client loops longer than this, whatever happens
GRACE_SECONDS = "10"  # the check after the crash finishes well inside it


@dataclass
class Client:
    """One session's view: the cookie it holds and what happened to its requests."""

    username: str
    cookie: str
    b_statuses: list[int] = field(default_factory=list)
    a_successes: int = 0
    failed_cookie: str | None = None  # sent to A, no answer
    failure: str | None = None  # "connect": never reached A; "midway": A died in flight
    errors: list[str] = field(default_factory=list)


async def revoked_sessions(database_url: str) -> list[tuple[str, str | None]]:
    connection = await asyncpg.connect(
        database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        rows = await connection.fetch(
            "SELECT id::text, revoked_reason FROM sessions WHERE revoked_at IS NOT NULL"
        )
    finally:
        await connection.close()
    return [(row[0], row[1]) for row in rows]


@pytest.fixture
def pair(servers: ServerFactory, tmp_path: Path, postgres_url: str) -> tuple[Server, Server]:
    env = redis_env(
        tmp_path / "unused.db", DATABASE_URL=postgres_url, REFRESH_GRACE_SECONDS=GRACE_SECONDS
    )
    return servers.start(env), servers.start(env)


def drive(
    client: Client, a: Server, b: Server, start: int, stop: threading.Event, *, b_only: bool
) -> None:
    """Refresh sequentially, alternating replicas, until the deadline or A stops answering.

    A client whose request to A got no answer stops there, holding both candidates (the
    cookie it sent, which is also the last it received); the test checks them on B.
    """
    deadline = time.monotonic() + LOAD_LIMIT_SECONDS
    turn = start
    with a.client() as on_a, b.client() as on_b:
        while time.monotonic() < deadline and not stop.is_set():
            use_a = turn % 2 == 0 and not b_only
            turn += 1
            sent = client.cookie
            try:
                response = refresh_sync(on_a if use_a else on_b, sent)
            except httpx.TransportError as exc:
                if not use_a:
                    client.errors.append(f"B: {exc!r}")
                    return
                client.failed_cookie = sent
                client.failure = "connect" if isinstance(exc, httpx.ConnectError) else "midway"
                return
            if not use_a:
                client.b_statuses.append(response.status_code)
            if response.status_code != 200 or "set-cookie" not in response.headers:
                who = "A" if use_a else "B"
                client.errors.append(f"{who}: {response.status_code} {response.text}")
                return
            client.cookie = token_pair(response).refresh
            if use_a:
                client.a_successes += 1


def test_sigkill_of_one_replica_mid_load_leaves_every_session_usable_on_the_other(
    pair: tuple[Server, Server], postgres_url: str
) -> None:
    a, b = pair
    clients: list[Client] = []
    b_only: list[Client] = []
    with a.client() as on_a:
        for n in range(CLIENTS + B_ONLY_CLIENTS):
            username = f"crash{n}"
            register_sync(on_a, username)
            client = Client(username, login_sync(on_a, username).refresh)
            (clients if n < CLIENTS else b_only).append(client)

    stop = threading.Event()
    threads = [
        threading.Thread(
            target=drive, args=(c, a, b, n, stop), kwargs={"b_only": c in b_only}, daemon=True
        )
        for n, c in enumerate(clients + b_only)
    ]
    for thread in threads:
        thread.start()

    def warmed_up() -> None:
        assert all((c.a_successes and c.b_statuses) or c.errors for c in clients)

    def crash_noticed() -> None:
        assert all(c.failure is not None or c.errors for c in clients)

    # Waits, not checks: the assertions below say what a client missed.
    with contextlib.suppress(AssertionError):
        eventually_sync(warmed_up, timeout=WARM_UP_TIMEOUT_SECONDS)
    a.stop(signal.SIGKILL)
    with contextlib.suppress(AssertionError):
        eventually_sync(crash_noticed, timeout=WARM_UP_TIMEOUT_SECONDS)
    time.sleep(AFTER_KILL_SECONDS)  # B alone, under the B-only clients' load
    stop.set()
    for thread in threads:
        thread.join(timeout=LOAD_LIMIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a load client hung"

    for c in b_only:
        assert not c.errors, (c.username, c.errors)
        assert len(c.b_statuses) > 2, (c.username, c.b_statuses)
    for c in clients:
        assert not c.errors, (c.username, c.errors)
        assert all(status < 500 for status in c.b_statuses), (c.username, c.b_statuses)
        assert c.b_statuses, f"{c.username} never reached B"
        assert c.a_successes, f"{c.username} never completed a refresh on A before the kill"
        assert c.failure is not None, f"{c.username} never noticed that A was gone"

    with b.client() as on_b:
        for c in b_only:
            assert token_pair(refresh_sync(on_b, c.cookie)).refresh
        for c in clients:
            # The client kept the last cookie it received, and that is the one it sent to A.
            assert c.failed_cookie == c.cookie
            response = refresh_sync(on_b, c.cookie)
            assert response.status_code == 200, (c.username, c.failure, response.text)
            access = response.json()["access_token"]
            if "set-cookie" in response.headers:
                # The request that failed did not commit: the cookie was still current.
                newest = token_pair(response).refresh
                again = refresh_sync(on_b, newest)
                assert again.status_code == 200, (c.username, again.text)
                assert "set-cookie" in again.headers, (c.username, again.headers)
                access = again.json()["access_token"]
            else:
                # A committed the rotation and died before answering: the superseded cookie
                # is inside the grace window. A request that never reached A cannot be here.
                assert c.failure == "midway", (c.username, c.failure, response.headers)
            assert on_b.get("/auth/me", headers=bearer(access)).status_code == 200
            assert on_b.get("/auth/verify", headers=bearer(access)).status_code == 200

    for server in (a, b):
        assert "refresh_reuse_detected" not in server.output(), server.output()
    assert asyncio.run(revoked_sessions(postgres_url)) == []
    print({c.username: (c.failure, len(c.b_statuses), c.a_successes) for c in clients})
