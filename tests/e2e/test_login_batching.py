"""Logins written in the same batches as rotations, through a real server on SQLite and
PostgreSQL: 50 concurrent logins of one user keep the session cap, the refreshes racing them
all rotate, and every login is on record exactly once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from authsvc.store import open_store
from tests.support.http import PASSWORD, login_sync, refresh_sync, register_sync, token_pair
from tests.support.processes import ServerFactory, server_env

LOGINS = 50
CAP = 3
# Throttling is not under test here; a burst of correct logins must not trip it.
UNTHROTTLED = {
    "THROTTLE_PER_IP": "10000/minute",
    "THROTTLE_PER_ACCOUNT_IP": "10000/minute",
    "THROTTLE_PER_ACCOUNT": "10000/minute",
}


async def logins_on_record(database_url: str, user_id: str) -> int:
    async with open_store(database_url) as store:
        events = await store.list_audit_events(
            subject_id=user_id, kind="login_succeeded", limit=LOGINS * 2
        )
    return len(events)


def test_concurrent_logins_beside_rotations_keep_the_cap_and_the_record(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    env = server_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        MAX_SESSIONS_PER_USER=str(CAP),
        **UNTHROTTLED,
    )
    server = servers.start(env)
    with server.client() as client:
        alice = register_sync(client, "alice")["id"]
        register_sync(client, "bob")
        bob = [login_sync(client, "bob") for _ in range(CAP)]

    def log_in() -> httpx.Response:
        with server.client() as own:
            return own.post("/auth/login", json={"username": "alice", "password": PASSWORD})

    def refresh(refresh_token: str) -> httpx.Response:
        with server.client() as own:
            return refresh_sync(own, refresh_token)

    with ThreadPoolExecutor(max_workers=LOGINS + CAP) as pool:
        logins = [pool.submit(log_in) for _ in range(LOGINS)]
        refreshes = [pool.submit(refresh, tokens.refresh) for tokens in bob]
        answers = [f.result() for f in logins]
        refreshed = [f.result() for f in refreshes]

    assert [a.status_code for a in answers] == [200] * LOGINS
    assert [r.status_code for r in refreshed] == [200] * CAP
    with server.client() as client:
        alive = [
            t
            for t in map(token_pair, answers)
            if client.get("/auth/me", headers=t.bearer).status_code == 200
        ]
        assert len(alive) == CAP
        for answer in refreshed:
            assert client.get("/auth/me", headers=token_pair(answer).bearer).status_code == 200
    assert asyncio.run(logins_on_record(database_url, alice)) == LOGINS
