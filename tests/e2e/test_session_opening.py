"""Opening sessions under concurrency, through a real server on SQLite and PostgreSQL.

A session opens only if the password the login verified is still the user's, and never makes
the user hold more than MAX_SESSIONS_PER_USER live sessions, however many logins race.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.http import (
    PASSWORD,
    Tokens,
    bearer,
    login_sync,
    refresh_sync,
    register_sync,
    token_pair,
)
from tests.support.processes import Server, ServerFactory, server_env

BURST = 24
NEW_PASSWORD = "a different staple, battery horse"
# Throttling is not under test here; a burst of correct logins must not trip it.
UNTHROTTLED = {
    "THROTTLE_PER_IP": "10000/minute",
    "THROTTLE_PER_ACCOUNT_IP": "10000/minute",
    "THROTTLE_PER_ACCOUNT": "10000/minute",
}


def start(servers: ServerFactory, tmp_path: Path, database_url: str, **overrides: str) -> Server:
    env = server_env(tmp_path / "unused.db", DATABASE_URL=database_url, **UNTHROTTLED)
    env.update(overrides)
    return servers.start(env)


def burst_of_logins(server: Server) -> list[httpx.Response]:
    def attempt() -> httpx.Response:
        with server.client() as client:
            return client.post("/auth/login", json={"username": "alice", "password": PASSWORD})

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return [f.result() for f in [pool.submit(attempt) for _ in range(BURST)]]


def is_alive(client: httpx.Client, tokens: Tokens) -> bool:
    return client.get("/auth/me", headers=tokens.bearer).status_code == 200


def test_logins_in_flight_during_a_password_change_leave_no_session_behind(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    server = start(servers, tmp_path, database_url, HASH_CONCURRENCY="2")
    with server.client() as client:
        register_sync(client, "alice")
        changer = login_sync(client, "alice")

        def attempt() -> httpx.Response:
            with server.client() as own:
                return own.post("/auth/login", json={"username": "alice", "password": PASSWORD})

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            in_flight = [pool.submit(attempt) for _ in range(BURST)]
            time.sleep(0.05)  # let the logins read the old hash and queue for argon2
            changed = client.post(
                "/auth/password",
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                headers=changer.bearer,
            )
            assert changed.status_code == 204, changed.text
            answers = [f.result() for f in in_flight]

        assert {a.status_code for a in answers} <= {200, 401}
        for answer in answers:
            if answer.status_code != 200:
                continue
            tokens = token_pair(answer)
            assert not is_alive(client, tokens)
            assert refresh_sync(client, tokens.refresh).status_code == 401
        assert is_alive(client, changer)
        assert is_alive(client, login_sync(client, "alice", NEW_PASSWORD))


def test_a_burst_of_logins_never_leaves_more_live_sessions_than_the_cap(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    cap = 3
    server = start(servers, tmp_path, database_url, MAX_SESSIONS_PER_USER=str(cap))
    with server.client() as client:
        register_sync(client, "alice")
        answers = burst_of_logins(server)
        assert [a.status_code for a in answers] == [200] * BURST
        tokens = [token_pair(a) for a in answers]

        alive = [t for t in tokens if is_alive(client, t)]
        assert len(alive) == cap
        listed = client.get("/auth/sessions", headers=bearer(alive[0].access)).json()
        assert len(listed["sessions"]) == cap
        refreshed = [t for t in tokens if refresh_sync(client, t.refresh).status_code == 200]
        assert len(refreshed) == cap
