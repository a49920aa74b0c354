"""The audit log through a real server, on SQLite and PostgreSQL: every login of a burst on
record exactly once, and no secret of any flow anywhere in the table."""

from __future__ import annotations

import asyncio
import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from authsvc.store import open_store
from authsvc.store.engine import create_engine
from authsvc.store.models import audit_events
from authsvc.tokens import token_hash
from tests.support.http import PASSWORD, bearer, login_sync, refresh_sync, register_sync, token_pair
from tests.support.processes import Server, ServerFactory, run_cli, server_env
from tests.support.records import audit_entry

BURST = 24
# Throttling is not under test here; a burst of correct logins must not trip it.
UNTHROTTLED = {
    "THROTTLE_PER_IP": "10000/minute",
    "THROTTLE_PER_ACCOUNT_IP": "10000/minute",
    "THROTTLE_PER_ACCOUNT": "10000/minute",
}


def start(servers: ServerFactory, tmp_path: Path, database_url: str) -> Server:
    return servers.start(
        server_env(tmp_path / "unused.db", DATABASE_URL=database_url, **UNTHROTTLED)
    )


async def audit_rows(database_url: str) -> list[dict[str, Any]]:
    """Every row of the audit table, every column, as the database holds it."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(audit_events))
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


def test_a_burst_of_logins_leaves_exactly_one_row_each(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    server = start(servers, tmp_path, database_url)
    with server.client() as client:
        user = register_sync(client, "alice")

        def attempt() -> httpx.Response:
            with server.client() as own:
                return own.post("/auth/login", json={"username": "alice", "password": PASSWORD})

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            answers = [f.result() for f in [pool.submit(attempt) for _ in range(BURST)]]
        assert [a.status_code for a in answers] == [200] * BURST
        sessions = {token_pair(a).access for a in answers}

        listed = client.get(
            "/auth/activity", params={"limit": 100}, headers=bearer(next(iter(sessions)))
        )

    assert listed.status_code == 200, listed.text
    assert [e["kind"] for e in listed.json()["events"]] == ["login_succeeded"] * BURST
    rows = asyncio.run(audit_rows(database_url))
    assert len(rows) == BURST
    assert {(r["kind"], r["subject_id"], r["actor_id"]) for r in rows} == {
        ("login_succeeded", user["id"], user["id"])
    }
    assert len({r["session_id"] for r in rows}) == BURST
    # No write of the audit log failed on the way (it would have been logged and skipped).
    assert "not stored" not in server.output()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_no_password_token_or_username_ever_lands_in_the_table(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    username = "zebedee-unmistakable"
    first_password = "first-Passw0rd-quartz-kumquat"
    second_password = "second-Passw0rd-zither-yodel"
    wrong_password = "wrong-Passw0rd-jackdaw-vex"
    server = start(servers, tmp_path, database_url)
    secrets: set[str] = {username, first_password, second_password, wrong_password}
    with server.client() as client:
        register_sync(client, username, first_password)
        # A password typed into the username field: an unknown account.
        client.post("/auth/login", json={"username": second_password, "password": "x"})
        client.post("/auth/login", json={"username": username, "password": wrong_password})
        tokens = login_sync(client, username, first_password)
        rotated = token_pair(refresh_sync(client, tokens.refresh))
        changed = client.post(
            "/auth/password",
            json={"current_password": first_password, "new_password": second_password},
            headers=bearer(rotated.access),
        )
        assert changed.status_code == 204, changed.text
        other = login_sync(client, username, second_password)
        client.post("/auth/logout-all", headers=bearer(other.access))
        for token in (tokens.access, tokens.refresh, rotated.access, rotated.refresh, other.access):
            jti = _claims(token)["jti"]
            secrets |= {token, jti, token_hash(jti)}

    rows = asyncio.run(audit_rows(database_url))

    assert {r["kind"] for r in rows} == {
        "login_failed",
        "login_succeeded",
        "password_changed",
        "sessions_revoked",
    }
    for row in rows:
        for column, value in row.items():
            text = str(value).casefold()
            leaked = [s for s in secrets if s.casefold() in text]
            assert not leaked, f"{column} of a {row['kind']} row holds a secret"


def test_the_purge_command_deletes_events_older_than_the_retention(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime.now(UTC)

    async def seed() -> None:
        async with open_store(database_url, migrate=True) as store:
            for days in (31, 40, 29):
                await store.append_audit_event(audit_entry(now - timedelta(days=days)))

    asyncio.run(seed())
    env = server_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        AUDIT_RETENTION_DAYS="30",
        ACCESS_TOKEN_SECRET=None,  # a command that signs nothing needs no signing secrets
        REFRESH_TOKEN_SECRET=None,
    )

    purged = run_cli(["audit", "purge"], env, tmp_path, script=True)

    assert purged.returncode == 0, purged.stderr
    assert purged.stdout == "deleted 2 audit events\n"
    kept = asyncio.run(audit_rows(database_url))
    assert [now - r["occurred_at"] < timedelta(days=30) for r in kept] == [True]
    again = run_cli(["audit", "purge"], env, tmp_path)
    assert again.stdout == "deleted 0 audit events\n"


def test_the_purge_command_reports_an_unreachable_database_in_one_line(
    tmp_path: Path,
) -> None:
    env = server_env(
        tmp_path / "unused.db",
        DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        ACCESS_TOKEN_SECRET=None,
        REFRESH_TOKEN_SECRET=None,
    )

    purged = run_cli(["audit", "purge"], env, tmp_path)

    assert purged.returncode == 2
    assert purged.stderr.startswith("authsvc: cannot reach the database at postgresql")
    assert "Traceback" not in purged.stderr
