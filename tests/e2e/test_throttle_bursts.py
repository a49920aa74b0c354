"""Concurrent bursts of guesses through real servers: no more are checked than the limits allow.

Each burst fires every request at the same moment from a thread pool; the correct password is
sent inside the burst, once the server has started refusing, and must not get in.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import pytest

from tests.support.http import PASSWORD, bearer, login_sync, register_sync
from tests.support.processes import Server, ServerFactory, redis_env
from tests.support.stores import _empty, _run_in_thread

BURST = 50
PER_ACCOUNT_IP = 5  # the default THROTTLE_PER_ACCOUNT_IP allows 5 a minute
WRONG = "definitely not the password"
NEW_PASSWORD = "an entirely new passphrase"

Send = Callable[[httpx.Client, str], httpx.Response]


def burst(servers: list[Server], send: Send) -> tuple[Counter[int], int]:
    """BURST wrong guesses at once, spread over `servers`, and the right one inside the burst.

    Returns the statuses of the wrong guesses and the status of the right one.
    """
    clients = [server.client() for server in servers]
    start = threading.Barrier(BURST)

    def guess(n: int) -> int:
        # A client of its own per guess: one httpx client shared by fifty threads at once
        # lost a connection to another thread's pool cleanup now and then.
        with servers[n % len(servers)].client() as client:
            start.wait(timeout=10)
            return send(client, WRONG).status_code

    try:
        with ThreadPoolExecutor(max_workers=BURST + 1) as pool:
            wrong: list[Future[int]] = [pool.submit(guess, n) for n in range(BURST)]
            pending: set[Future[int]] = set(wrong)
            # Send the right password as soon as the server refuses, while guesses are in flight.
            while pending:
                done, pending = wait(pending, timeout=30, return_when=FIRST_COMPLETED)
                assert done, "the burst did not finish in time"
                if any(f.result() == 429 for f in done):
                    break
            right = pool.submit(send, clients[-1], PASSWORD).result(timeout=30).status_code
            statuses = Counter(f.result(timeout=30) for f in wrong)
    finally:
        for client in clients:
            client.close()
    return statuses, right


def login_attempt(client: httpx.Client, password: str) -> httpx.Response:
    return client.post("/auth/login", json={"username": "alice", "password": password})


def assert_throttled_to_the_limit(statuses: Counter[int], right: int, allowed: int) -> None:
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= allowed, statuses
    assert statuses[429] >= BURST - allowed, statuses
    assert right == 429


def test_a_login_burst_is_checked_no_more_often_than_the_limit(server: Server) -> None:
    with server.client() as client:
        register_sync(client, "alice")

    statuses, right = burst([server], login_attempt)

    assert_throttled_to_the_limit(statuses, right, PER_ACCOUNT_IP)


def test_a_password_change_burst_with_a_stolen_token_cannot_take_the_account_over(
    server: Server,
) -> None:
    with server.client() as client:
        register_sync(client, "alice")
        stolen = login_sync(client, "alice").access

    def change(client: httpx.Client, current: str) -> httpx.Response:
        body = {"current_password": current, "new_password": NEW_PASSWORD}
        return client.post("/auth/password", headers=bearer(stolen), json=body)

    statuses, right = burst([server], change)

    assert_throttled_to_the_limit(statuses, right, PER_ACCOUNT_IP)  # no 204: nothing changed


@pytest.fixture
def replicas(
    servers: ServerFactory, tmp_path: Path, postgres_database: str
) -> tuple[Server, Server]:
    _run_in_thread(lambda: _empty(postgres_database))
    env = redis_env(tmp_path / "unused.db", DATABASE_URL=postgres_database)
    return servers.start(env), servers.start(env)


def test_a_burst_spread_over_two_replicas_shares_one_limit(
    replicas: tuple[Server, Server],
) -> None:
    with replicas[0].client() as client:
        register_sync(client, "alice")

    statuses, right = burst(list(replicas), login_attempt)

    assert_throttled_to_the_limit(statuses, right, PER_ACCOUNT_IP)


def test_a_burst_from_one_ipv6_64_is_one_client_and_does_not_lock_the_owner_out(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    # Behind a trusted proxy, X-Forwarded-For names the client: fifty addresses of one /64.
    server = servers.start({**env, "TRUSTED_PROXIES": "127.0.0.1"})
    owner = {"X-Forwarded-For": "203.0.113.7"}
    with server.client() as client:
        register_sync(client, "alice")
        first = client.post(
            "/auth/login", json={"username": "alice", "password": PASSWORD}, headers=owner
        )
        assert first.status_code == 200

    def from_the_64(client: httpx.Client, password: str) -> httpx.Response:
        if password == PASSWORD:  # the owner, from the address they logged in from before
            headers = owner
        else:
            headers = {"X-Forwarded-For": f"2001:db8:1:2::{uuid.uuid4().hex[:4]}"}
        body = {"username": "alice", "password": password}
        return client.post("/auth/login", json=body, headers=headers)

    statuses, right = burst([server], from_the_64)

    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= PER_ACCOUNT_IP, statuses
    assert right == 200
