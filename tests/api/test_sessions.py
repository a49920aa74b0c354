"""The user's devices: list them, sign one out."""

from __future__ import annotations

import httpx
import pytest

from tests.support import LoggedIn, assert_session_dead, login, refresh_cookie, register


async def test_sessions_lists_live_sessions_and_marks_the_current_one(
    client: httpx.AsyncClient, alice: LoggedIn
) -> None:
    phone = await login(client)
    ended = await login(client)
    await client.post("/auth/logout", headers=refresh_cookie(ended.refresh_token))

    response = await client.get("/auth/sessions", headers=alice.bearer)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    sessions = response.json()
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
    from_phone = (await client.get("/auth/sessions", headers=phone.bearer)).json()
    assert {s["id"] for s in from_phone} == {s["id"] for s in sessions}
    assert [s["id"] for s in from_phone if s["current"]] != [s["id"] for s in current]


async def test_sessions_are_per_user(client: httpx.AsyncClient, alice: LoggedIn) -> None:
    await register(client, "bob")
    bob = await login(client, "bob")
    alice_ids = {s["id"] for s in (await client.get("/auth/sessions", headers=alice.bearer)).json()}
    bob_ids = {s["id"] for s in (await client.get("/auth/sessions", headers=bob.bearer)).json()}
    assert alice_ids.isdisjoint(bob_ids)
    assert len(bob_ids) == 1


async def test_deleting_a_session_signs_that_device_out_at_once(
    client: httpx.AsyncClient, alice: LoggedIn
) -> None:
    phone = await login(client)
    sessions = (await client.get("/auth/sessions", headers=phone.bearer)).json()
    phone_id = next(s["id"] for s in sessions if s["current"])

    response = await client.delete(f"/auth/sessions/{phone_id}", headers=alice.bearer)

    assert response.status_code == 204
    await assert_session_dead(client, phone)
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200
    again = await client.delete(f"/auth/sessions/{phone_id}", headers=alice.bearer)
    assert again.status_code == 404


async def test_other_users_sessions_cannot_be_deleted(
    client: httpx.AsyncClient, alice: LoggedIn
) -> None:
    await register(client, "mallory")
    mallory = await login(client, "mallory")
    alice_id = (await client.get("/auth/sessions", headers=alice.bearer)).json()[0]["id"]

    response = await client.delete(f"/auth/sessions/{alice_id}", headers=mallory.bearer)

    assert response.status_code == 404  # indistinguishable from a session that does not exist
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


@pytest.mark.parametrize(
    ("session_id", "status"),
    [("does-not-exist", 404), ("' OR 1=1 --", 404), ("x" * 65, 422)],
)
async def test_deleting_unknown_sessions(
    client: httpx.AsyncClient, alice: LoggedIn, session_id: str, status: int
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
