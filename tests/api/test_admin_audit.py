"""GET /admin/audit: everyone's audit events for administrators, filtered and paged."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from authsvc.services.cursors import CURSOR_MAX_LENGTH
from tests.api.admin_helpers import admin_login
from tests.support.http import Tokens, get_page, login, register

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
EVENT_FIELDS = {
    "occurred_at",
    "kind",
    "actor_id",
    "subject_id",
    "session_id",
    "ip",
    "user_agent",
    "details",
}


@pytest.fixture
async def root(app: FastAPI, client: httpx.AsyncClient) -> Tokens:
    return await admin_login(app, client)


async def audit(client: httpx.AsyncClient, root: Tokens, **params: Any) -> dict[str, Any]:
    return await get_page(client, "/admin/audit", root, **params)


async def me(client: httpx.AsyncClient, tokens: Tokens) -> str:
    return str((await client.get("/auth/me", headers=tokens.bearer)).json()["id"])


async def test_everyones_events_newest_first_with_the_admin_as_actor(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    root_id, alice_id = await me(client, root), await me(client, alice)
    failed = await client.post("/auth/login", json={"username": "alice", "password": "nope"})
    assert failed.status_code == 401
    ended = await client.delete(f"/admin/users/{alice_id}/sessions", headers=root.bearer)
    assert ended.status_code == 200

    events = (await audit(client, root))["events"]

    assert [(e["kind"], e["subject_id"]) for e in events] == [
        ("sessions_ended_by_admin", alice_id),
        ("sessions_revoked", alice_id),
        ("login_failed", alice_id),
        ("login_succeeded", alice_id),
        ("login_succeeded", root_id),
    ]
    by_admin = events[0]
    assert set(by_admin) == EVENT_FIELDS
    assert by_admin["actor_id"] == root_id
    assert by_admin["ip"] == "127.0.0.1"
    assert by_admin["user_agent"] == client.headers["user-agent"]
    assert by_admin["details"]["count"] == 1
    assert events[3]["actor_id"] == alice_id
    assert events[3]["session_id"] is not None


async def test_filters_by_account_and_kind_and_pages_keep_them(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    alice_id = await me(client, alice)
    for _ in range(4):
        await login(client)
    await register(client, "bob")
    await login(client, "bob")

    seen: list[str] = []
    params: dict[str, Any] = {"user_id": alice_id, "kind": "login_succeeded", "limit": 2}
    while True:
        body = await audit(client, root, **params)
        assert len(body["events"]) <= 2
        assert {(e["subject_id"], e["kind"]) for e in body["events"]} <= {
            (alice_id, "login_succeeded")
        }
        seen += [e["session_id"] for e in body["events"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    assert len(seen) == len(set(seen)) == 5
    bobs = (await audit(client, root, kind="login_succeeded"))["events"]
    assert len(bobs) == 7  # root, alice five times, bob
    only_alice = (await audit(client, root, user_id=alice_id))["events"]
    assert {e["subject_id"] for e in only_alice} == {alice_id}


async def test_a_well_formed_id_of_no_account_is_an_empty_list(
    client: httpx.AsyncClient, root: Tokens
) -> None:
    assert await audit(client, root, user_id=UNKNOWN_ID) == {"events": [], "next_cursor": None}


async def test_a_deleted_accounts_history_stays_readable(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    alice_id = await me(client, alice)
    deleted = await client.delete(f"/admin/users/{alice_id}", headers=root.bearer)
    assert deleted.status_code == 204

    kinds = [e["kind"] for e in (await audit(client, root, user_id=alice_id))["events"]]

    assert kinds == ["user_deleted", "sessions_revoked", "login_succeeded"]


@pytest.mark.parametrize(
    "params",
    [
        {"user_id": "1"},
        {"user_id": "00000000-0000-4000-8000-00000000000G"},
        {"user_id": "0B1C2D3E-4F50-4617-8899-AABBCCDDEEFF"},
        {"user_id": "x" * 65},
        {"user_id": "%00"},
        {"kind": "no_such_kind"},
        {"kind": ""},
        {"kind": "LOGIN_SUCCEEDED"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
    ],
)
async def test_malformed_filters_are_422(
    client: httpx.AsyncClient, root: Tokens, params: dict[str, Any]
) -> None:
    response = await client.get("/admin/audit", headers=root.bearer, params=params)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", ["not a cursor", "%00", _cursor("e0"), _cursor("e" + "9" * 19), "A" * 500]
)
async def test_cursors_not_handed_out_are_400(
    client: httpx.AsyncClient, root: Tokens, cursor: str
) -> None:
    response = await client.get("/admin/audit", headers=root.bearer, params={"cursor": cursor})
    # Longer than any cursor handed out: refused while parsing, as every paged list does.
    assert response.status_code == (422 if len(cursor) > CURSOR_MAX_LENGTH else 400)


async def test_only_a_live_admin_token_reads_the_audit_log(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    no_role = await client.get("/admin/audit", headers=alice.bearer)
    assert no_role.status_code == 403
    assert no_role.json() == {"detail": "Not allowed"}
    for headers in [{}, {"Authorization": "Bearer x.y.z"}, {"Authorization": "Basic eDp4"}]:
        refused = await client.get("/admin/audit", headers=headers)
        assert refused.status_code == 401, headers
    assert (await client.post("/auth/logout-all", headers=root.bearer)).status_code == 204
    assert (await client.get("/admin/audit", headers=root.bearer)).status_code == 401
