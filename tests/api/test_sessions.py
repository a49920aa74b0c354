"""The user's devices: list them, sign one out."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.support.apps import app_client
from tests.support.http import (
    Tokens,
    assert_session_dead,
    cookie_header,
    login,
    register,
    rotate,
)
from tests.support.settings import FakeClock, make_settings


async def listed(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, object]]:
    """Every live session of the user, read as one page."""
    response = await client.get("/auth/sessions", headers=tokens.bearer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    sessions: list[dict[str, object]] = body["sessions"]
    return sessions


async def test_sessions_lists_live_sessions_and_marks_the_current_one(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    phone = await login(client)
    ended = await login(client)
    await client.post("/auth/logout", headers=cookie_header(ended.refresh))

    response = await client.get("/auth/sessions", headers=alice.bearer)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert set(response.json()) == {"sessions", "next_cursor"}
    sessions = response.json()["sessions"]
    assert len(sessions) == 2
    current = [s for s in sessions if s["current"]]
    assert len(current) == 1
    for session in sessions:
        assert set(session) == {
            "id",
            "current",
            "created_at",
            "last_used_at",
            "expires_at",
            "absolute_expires_at",
            "user_agent",
            "ip",
        }
        assert session["user_agent"].startswith("python-httpx")
    from_phone = await listed(client, phone)
    assert {s["id"] for s in from_phone} == {s["id"] for s in sessions}
    assert [s["id"] for s in from_phone if s["current"]] != [s["id"] for s in current]


async def test_sessions_are_per_user(client: httpx.AsyncClient, alice: Tokens) -> None:
    await register(client, "bob")
    bob = await login(client, "bob")
    alice_ids = {s["id"] for s in await listed(client, alice)}
    bob_ids = {s["id"] for s in await listed(client, bob)}
    assert alice_ids.isdisjoint(bob_ids)
    assert len(bob_ids) == 1


async def test_deleting_a_session_signs_that_device_out_at_once(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    phone = await login(client)
    sessions = await listed(client, phone)
    phone_id = next(s["id"] for s in sessions if s["current"])

    response = await client.delete(f"/auth/sessions/{phone_id}", headers=alice.bearer)

    assert response.status_code == 204
    await assert_session_dead(client, phone)
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200
    again = await client.delete(f"/auth/sessions/{phone_id}", headers=alice.bearer)
    assert again.status_code == 404


async def test_other_users_sessions_cannot_be_deleted(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    await register(client, "mallory")
    mallory = await login(client, "mallory")
    alice_id = (await listed(client, alice))[0]["id"]

    response = await client.delete(f"/auth/sessions/{alice_id}", headers=mallory.bearer)

    assert response.status_code == 404  # indistinguishable from a session that does not exist
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


@pytest.mark.parametrize(
    ("session_id", "status"),
    [("does-not-exist", 404), ("' OR 1=1 --", 404), ("x" * 65, 422)],
)
async def test_deleting_unknown_sessions(
    client: httpx.AsyncClient, alice: Tokens, session_id: str, status: int
) -> None:
    response = await client.delete(f"/auth/sessions/{session_id}", headers=alice.bearer)
    assert response.status_code == status
    assert "detail" in response.json()
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/auth/sessions"), ("DELETE", "/auth/sessions/x")]
)
async def test_sessions_routes_require_a_bearer_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("session_id", ["%00", "a%00b", "%C0%80", "\u00e9", "%FF"])
async def test_session_ids_the_database_would_refuse_answer_404(
    client: httpx.AsyncClient, alice: Tokens, session_id: str
) -> None:
    # PostgreSQL refuses a NUL byte in text; such an id must never reach it.
    response = await client.delete(f"/auth/sessions/{session_id}", headers=alice.bearer)
    assert response.status_code == 404
    assert response.json() == {"detail": "Session not found"}


# A cursor of the right shape naming month 13.
IMPOSSIBLE_DATE = base64.urlsafe_b64encode(
    b"2026-13-01T00:00:00.000000+00:00 00000000-0000-4000-8000-000000000000"
).decode()


async def test_sessions_are_listed_a_page_at_a_time(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    for _ in range(6):
        clock.advance(1)
        await login(client)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        response = await client.get("/auth/sessions", headers=alice.bearer, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["sessions"]) <= 3
        seen += [s["id"] for s in body["sessions"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    # Most recently used first, across page boundaries: alice's own login was the first.
    assert seen[-1] == next(s["id"] for s in await listed(client, alice) if s["current"])


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not a cursor"},
        {"cursor": "%00"},
        {"cursor": "AAAA"},
        {"cursor": IMPOSSIBLE_DATE},
    ],
)
async def test_cursors_not_handed_out_are_refused(
    client: httpx.AsyncClient, alice: Tokens, params: dict[str, str]
) -> None:
    response = await client.get("/auth/sessions", headers=alice.bearer, params=params)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid cursor"}


@pytest.mark.parametrize("path", ["/auth/sessions", "/auth/activity"])  # the paged lists
@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"cursor": "A" * 129}]
)
async def test_limits_and_cursors_out_of_bounds_are_422(
    client: httpx.AsyncClient, alice: Tokens, params: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=alice.bearer, params=params)
    assert response.status_code == 422
    assert "detail" in response.json()


async def test_a_login_beyond_the_cap_ends_the_least_recently_used_session(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path, database_url=database_url, max_sessions_per_user=2)
    async with app_client(settings, clock=clock) as client:
        await register(client)
        oldest = await login(client)
        clock.advance(1)
        used = await login(client)
        clock.advance(1)
        refreshed = await rotate(client, oldest.refresh)  # now the most recently used
        assert refreshed.status_code == 200
        clock.advance(1)

        newest = await login(client)

        await assert_session_dead(client, used)
        assert (await client.get("/auth/me", headers=oldest.bearer)).status_code == 200
        assert len(await listed(client, newest)) == 2
        metrics = (await client.get("/metrics")).text
        assert 'authsvc_sessions_revoked_total{reason="session_limit"} 1.0' in metrics
