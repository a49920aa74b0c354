"""Registration under bursts through a real server: throttled per address, look-alikes unique,
and the hashing queue bounded."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.http import PASSWORD, register_sync
from tests.support.processes import ServerFactory

BURST = 30


def at_once(count: int, client: httpx.Client, send: Callable[[int], httpx.Response]) -> list[int]:
    start = threading.Barrier(count)

    def one(n: int) -> int:
        start.wait(timeout=10)
        return send(n).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count), timeout=60))


def test_a_registration_burst_from_one_address_is_throttled(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start({**env, "THROTTLE_REGISTRATION_PER_IP": "10/minute"})
    with server.client() as client:

        def sign_up(n: int) -> httpx.Response:
            return client.post(
                "/auth/register", json={"username": f"user{n}", "password": PASSWORD}
            )

        statuses = Counter(at_once(BURST, client, sign_up))
        assert statuses == {201: 10, 429: BURST - 10}, statuses
        # A taken name is an answer too: it is counted and refused like any other attempt.
        taken = client.post("/auth/register", json={"username": "user0", "password": PASSWORD})
        assert taken.status_code == 429
        assert int(taken.headers["retry-after"]) >= 1


def test_concurrent_look_alike_registrations_create_one_account(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start({**env, "THROTTLE_REGISTRATION_PER_IP": "1000/minute"})
    # Sixteen spellings of one name: each l may be a digit one, each i a dotless i.
    names = [
        "".join(chars)
        for chars in itertools.product(("l", "1"), ("i", "\u0131"), ("l", "1"), ("i", "\u0131"))
    ]
    with server.client() as client:

        def sign_up(n: int) -> httpx.Response:
            return client.post("/auth/register", json={"username": names[n], "password": PASSWORD})

        statuses = Counter(at_once(len(names), client, sign_up))
        assert statuses == {201: 1, 409: len(names) - 1}, statuses


def test_a_full_hashing_queue_answers_503_with_retry_after(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start(
        {
            **env,
            "HASH_CONCURRENCY": "1",
            "HASH_QUEUE_LIMIT": "2",
            "THROTTLE_PER_IP": "1000/minute",
            "THROTTLE_REGISTRATION_PER_IP": "1000/minute",
        }
    )
    with server.client() as client:
        register_sync(client, "alice")

        def guess(n: int) -> httpx.Response:
            response = client.post(
                "/auth/login", json={"username": f"nobody{n}", "password": "wrong password"}
            )
            if response.status_code == 503:
                assert response.headers["retry-after"] == "1"
                assert response.json() == {"detail": "Too busy; try again shortly"}
            return response

        statuses = Counter(at_once(BURST, client, guess))
        assert set(statuses) == {401, 503}, statuses
        assert statuses[401] >= 3  # the running hash and the queue were served
        # Once the flood is over, logins are answered as usual.
        ok = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        assert ok.status_code == 200
