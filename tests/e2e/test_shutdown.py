"""SIGTERM under load: requests in flight are answered, then the process exits, in bounded time."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.http import PASSWORD, register_sync
from tests.support.processes import Server, ServerFactory, redis_env

IN_FLIGHT = 16
# SHUTDOWN_TIMEOUT_SECONDS (10 by default) plus the time to close the store and exit.
SHUTDOWN_BOUND_SECONDS = 20
# One slow hash at a time: the logins queue behind each other for seconds, so most are still
# in flight when SIGTERM arrives. Every password check takes a throttle slot, so the limits are
# lifted for these bursts of logins to one account.
SLOW_ENV = {
    "HASH_CONCURRENCY": "1",
    "ARGON2_TIME_COST": "6",
    "THROTTLE_PER_IP": "1000/minute",
    "THROTTLE_PER_ACCOUNT_IP": "1000/minute",
    "THROTTLE_PER_ACCOUNT": "1000/minute",
}


def login_once(server: Server, sent: threading.Semaphore | None = None) -> tuple[int | str, float]:
    """One login on its own connection: its status (or how the connection failed) and when
    it ended. `sent` is released once the whole request is on its way."""
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    request = (
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request)
            if sent is not None:
                sent.release()
            while chunk := sock.recv(65_536):
                answer += chunk
    except OSError as exc:
        if sent is not None and not answer:
            sent.release()  # never blocks the test: it only waits for sends that happen
        return type(exc).__name__, time.monotonic()
    if not answer.startswith(b"HTTP/1.1 "):
        return "cut", time.monotonic()
    return int(answer.split(b" ", 2)[1]), time.monotonic()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_requests_in_flight_without_cutting_any(
    servers: ServerFactory, env: dict[str, str], database: Path, workers: int
) -> None:
    if workers > 1:
        # Several workers are replicas: they need Redis (serve.py refuses otherwise).
        env = redis_env(database)
    server = servers.start({**env, **SLOW_ENV}, args=("--workers", str(workers)))
    with server.client() as client:
        register_sync(client, "alice")
    sent = threading.Semaphore(0)
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        answers = [pool.submit(login_once, server, sent) for _ in range(IN_FLIGHT)]
        for _ in range(IN_FLIGHT):
            assert sent.acquire(timeout=10)
        time.sleep(0.3)  # every login accepted, most waiting for their hash
        signalled_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        results = [answer.result() for answer in answers]
    assert [status for status, _ in results] == [200] * IN_FLIGHT, results
    # The drain was real: answers kept coming after the signal.
    assert max(ended for _, ended in results) > signalled_at
    server.process.wait(timeout=SHUTDOWN_BOUND_SECONDS)
    events = server.events()
    assert not [entry for entry in events if entry["level"] in ("error", "critical")], events
    # Refused from now on, not cut: nobody listens.
    assert login_once(server)[0] == "ConnectionRefusedError"


def test_shutdown_timeout_bounds_how_long_a_drain_may_take(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    # Far more hashing queued than one second allows, on an idle machine too (each hash takes
    # a few hundred milliseconds at this cost): the drain is cut at the timeout.
    server = servers.start(
        {**env, **SLOW_ENV, "ARGON2_TIME_COST": "30", "SHUTDOWN_TIMEOUT_SECONDS": "1"}
    )
    with server.client() as client:
        register_sync(client, "alice")
    with ThreadPoolExecutor(IN_FLIGHT * 2) as pool:
        answers = [pool.submit(login_once, server) for _ in range(IN_FLIGHT * 2)]
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=SHUTDOWN_BOUND_SECONDS)
        results = [answer.result() for answer in answers]
    statuses = {status for status, _ in results}
    assert 200 in statuses
    assert statuses - {200}, "every queued login finished: the timeout was never reached"
    assert "timeout graceful shutdown exceeded" in server.output()


def test_request_arriving_when_sigterm_comes_is_answered_not_cut(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.3)  # the first half is read by the server
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        try:
            sock.sendall(b"Accept: application/json\r\n\r\n")
            answer = sock.recv(65_536)
        except OSError as exc:
            answer = type(exc).__name__.encode()
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert b"connection: close" in answer.lower()
    server.process.wait(timeout=SHUTDOWN_BOUND_SECONDS)
