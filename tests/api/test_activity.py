"""GET /auth/activity: the user's own audit log, newest first, a page at a time."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from authsvc.store.engine import create_engine
from tests.support.apps import asgi_client, running_app
from tests.support.http import (
    PASSWORD,
    Tokens,
    cookie_header,
    get_page,
    login,
    register,
    rotate,
)
from tests.support.scrape import Scrape
from tests.support.settings import FakeClock, make_settings

NEW_PASSWORD = "an entirely new staple for the horse"
EVENT_FIELDS = {"occurred_at", "kind", "actor_id", "session_id", "ip", "user_agent", "details"}


async def activity(client: httpx.AsyncClient, tokens: Tokens, **params: Any) -> dict[str, Any]:
    return await get_page(client, "/auth/activity", tokens, **params)


async def user_id(client: httpx.AsyncClient, tokens: Tokens) -> str:
    return str((await client.get("/auth/me", headers=tokens.bearer)).json()["id"])


async def test_activity_shows_logins_failures_sign_outs_and_password_changes(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    me = await user_id(client, alice)
    failed = await client.post("/auth/login", json={"username": "alice", "password": "nope"})
    assert failed.status_code == 401
    laptop = await login(client)
    client.cookies.clear()
    logout = await client.post("/auth/logout", headers=cookie_header(laptop.refresh))
    assert logout.status_code == 204
    changed = await client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=alice.bearer,
    )
    assert changed.status_code == 204
    refreshed = await rotate(client, alice.refresh)
    assert refreshed.status_code == 200

    body = await activity(client, alice)

    assert body["next_cursor"] is None
    events = body["events"]
    # A refresh is no account event: it is not in the log.
    assert [e["kind"] for e in events] == [
        "password_changed",
        "session_revoked",
        "login_succeeded",
        "login_failed",
        "login_succeeded",
    ]
    for event in events:
        assert set(event) == EVENT_FIELDS
        assert event["actor_id"] == me
        assert event["ip"] == "127.0.0.1"
    changed_event, revoked, laptop_login = events[:3]
    assert revoked["details"] == {"reason": "logout"}
    assert revoked["session_id"] == laptop_login["session_id"]
    assert changed_event["session_id"] == events[-1]["session_id"]
    assert changed_event["user_agent"] == client.headers["user-agent"]


async def test_ending_other_sessions_is_on_record_with_their_number(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    await login(client)
    await login(client)
    assert (await client.post("/auth/logout-all", headers=alice.bearer)).status_code == 204
    fresh = await login(client)

    events = (await activity(client, fresh))["events"]

    assert events[1]["kind"] == "sessions_revoked"
    assert events[1]["details"] == {"reason": "logout_all", "count": 3}


async def test_another_users_events_are_never_shown(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    await register(client, "bob")
    bob = await login(client, "bob")
    for _ in range(3):
        await client.post("/auth/login", json={"username": "bob", "password": "wrong"})

    alices = (await activity(client, alice))["events"]
    bobs = (await activity(client, bob))["events"]

    assert [e["kind"] for e in alices] == ["login_succeeded"]
    assert [e["kind"] for e in bobs] == ["login_failed"] * 3 + ["login_succeeded"]
    assert {e["actor_id"] for e in bobs} == {await user_id(client, bob)}


async def test_pages_follow_the_cursor_to_the_oldest_event(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    sessions = [alice.bearer] + [(await login(client)).bearer for _ in range(6)]

    seen: list[str | None] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        body = await activity(client, alice, **params)
        assert len(body["events"]) <= 3
        seen += [e["session_id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == len(sessions) == 7
    first_page = (await activity(client, alice))["events"]
    assert [e["session_id"] for e in first_page] == seen


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%00",
        "AAAA",
        _cursor("e0"),
        _cursor("e-1"),
        _cursor("e" + "9" * 19),  # beyond a 64-bit id
        _cursor("e01"),
        # A sessions-list cursor is not an activity cursor.
        _cursor("2026-01-01T00:00:00.000000+00:00 0b1c2d3e-4f50-4617-8899-aabbccddeeff"),
    ],
)
async def test_cursors_not_handed_out_are_refused(
    client: httpx.AsyncClient, alice: Tokens, cursor: str
) -> None:
    response = await client.get("/auth/activity", headers=alice.bearer, params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid cursor"}


async def test_only_a_live_access_token_reads_the_activity(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    refused = [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWxpY2U6eA=="},
        # The refresh token is no access token, though signed by the same service.
        {"Authorization": f"Bearer {alice.refresh}"},
    ]
    for headers in refused:
        response = await client.get("/auth/activity", headers=headers)
        assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")

    assert (await client.post("/auth/logout-all", headers=alice.bearer)).status_code == 204
    ended = await client.get("/auth/activity", headers=alice.bearer)
    assert (ended.status_code, ended.headers["www-authenticate"]) == (401, "Bearer")


async def test_a_login_succeeds_when_the_audit_log_cannot_be_written(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings, clock=clock) as app, asgi_client(app) as client:
        await register(client)
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP TABLE audit_events"))
        finally:
            await engine.dispose()

        tokens = await login(client)  # fails open: the write failed, the login did not

        assert (await client.get("/auth/me", headers=tokens.bearer)).status_code == 200
        scrape = Scrape.parse((await client.get("/metrics")).text)
        assert scrape.value("authsvc_audit_write_failures_total") == 1
        assert scrape.value("authsvc_logins_total", result="succeeded") == 1
