"""The store goes away under a running replica and comes back: clean 503s, then recovery.

The PostgreSQL here is the test's own (tests/faults/conftest.py), so stopping it disturbs no
other test.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.faults.conftest import ThrowawayPostgres
from tests.support.http import PASSWORD, login_sync, refresh_sync, register_sync, token_pair
from tests.support.polling import eventually_sync
from tests.support.processes import ServerFactory, server_env

RECOVERY_SECONDS = 15.0
TRACEBACK_MARKERS = ("Traceback", 'File "', "Error:", "asyncpg", "sqlalchemy", "psycopg")


def assert_clean(response: httpx.Response, *allowed: int) -> None:
    """An expected status with a body that leaks nothing of the failure."""
    assert response.status_code in allowed, (response.status_code, response.text)
    assert response.status_code != 500, response.text
    for marker in TRACEBACK_MARKERS:
        assert marker not in response.text, response.text


def wait_for_ready(client: httpx.Client) -> None:
    statuses: list[int | str] = []

    def ready() -> None:
        try:
            response = client.get("/readyz")
        except httpx.TransportError as exc:
            statuses.append(type(exc).__name__)
        else:
            statuses.append(response.status_code)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200:
                return
        raise AssertionError(f"/readyz never answered 200 after the restart: {statuses[-10:]}")

    eventually_sync(ready, timeout=RECOVERY_SECONDS, interval=0.1)


def test_store_restart_answers_503_then_recovers_without_losing_sessions(
    throwaway_postgres: ThrowawayPostgres, servers: ServerFactory, tmp_path: Path
) -> None:
    env = server_env(tmp_path / "unused.db", DATABASE_URL=throwaway_postgres.url)
    server = servers.start(env)
    with server.client() as client:
        assert client.get("/readyz").status_code == 200
        register_sync(client, "alice")
        register_sync(client, "bob")
        tokens = login_sync(client, "alice")
        assert client.get("/auth/verify", headers=tokens.bearer).status_code == 200

        throwaway_postgres.stop()

        for _ in range(3):  # the pool's stale connections as well as fresh connects fail
            assert_clean(client.get("/readyz"), 503)
            assert_clean(client.get("/healthz"), 200)
            outage_refresh = refresh_sync(client, tokens.refresh)
            assert_clean(outage_refresh, 503)
            assert outage_refresh.headers.get("retry-after"), outage_refresh.headers
            assert "set-cookie" not in outage_refresh.headers
            outage_login = client.post(
                "/auth/login", json={"username": "bob", "password": PASSWORD}
            )
            assert_clean(outage_login, 503)
            assert outage_login.headers.get("retry-after"), outage_login.headers
            # Forward-auth answers only 200 or 401; anything else is a 500 at the gateway.
            assert_clean(client.get("/auth/verify", headers=tokens.bearer), 200, 401)
            assert_clean(client.get("/auth/verify"), 401)

        throwaway_postgres.start()
        wait_for_ready(client)

        # The refresh attempted during the outage changed nothing: the cookie is still current.
        rotated = token_pair(refresh_sync(client, tokens.refresh))
        assert client.get("/auth/me", headers=rotated.bearer).status_code == 200
        assert client.get("/auth/verify", headers=rotated.bearer).status_code == 200
        assert refresh_sync(client, rotated.refresh).status_code == 200
        bob = login_sync(client, "bob")
        assert client.get("/auth/me", headers=bob.bearer).status_code == 200

    log = server.output()
    assert "refresh_reuse_detected" not in log, log
