"""The administration API: every route, its refusals, and what each action does to sessions."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from fastapi import FastAPI

from tests.api.admin_helpers import admin_login, grant
from tests.support.http import PASSWORD, Tokens, assert_session_dead, login, register, rotate

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
NEW_PASSWORD = "another long passphrase 42"


def route_table(user_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", "/admin/users", None),
        ("GET", f"/admin/users/{user_id}", None),
        ("GET", "/admin/audit", None),
        ("POST", "/admin/users", {"username": "newbie", "password": PASSWORD}),
        ("PATCH", f"/admin/users/{user_id}", {"roles": ["ops"]}),
        ("POST", f"/admin/users/{user_id}/password", {"new_password": NEW_PASSWORD}),
        ("DELETE", f"/admin/users/{user_id}/sessions", None),
        ("DELETE", f"/admin/users/{user_id}", None),
    ]


@pytest.fixture
async def root(app: FastAPI, client: httpx.AsyncClient) -> Tokens:
    return await admin_login(app, client)


async def user_id(client: httpx.AsyncClient, root: Tokens, name: str) -> str:
    found = await client.get("/admin/users", params={"q": name}, headers=root.bearer)
    matches = [u["id"] for u in found.json()["users"] if u["username"] == name]
    assert len(matches) == 1, found.text
    return str(matches[0])


async def test_create_show_patch_and_list(client: httpx.AsyncClient, root: Tokens) -> None:
    created = await client.post(
        "/admin/users",
        json={
            "username": "Bob",
            "password": PASSWORD,
            "email": "bob@example.org",
            "roles": ["ops"],
        },
        headers=root.bearer,
    )
    assert created.status_code == 201, created.text
    bob = created.json()
    assert (bob["username"], bob["roles"], bob["disabled"]) == ("bob", ["ops"], False)
    assert "password_hash" not in bob
    shown = await client.get(f"/admin/users/{bob['id']}", headers=root.bearer)
    assert shown.json() == bob
    patched = await client.patch(
        f"/admin/users/{bob['id']}",
        json={"roles": ["ops", "audit"], "email": "b@example.org", "email_verified": True},
        headers=root.bearer,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["roles"], body["email"]) == (["audit", "ops"], "b@example.org")
    assert body["email_verified_at"] is not None
    # The new account logs in with its password and its roles.
    tokens = await login(client, "bob")
    assert (await client.get("/auth/verify?role=audit", headers=tokens.bearer)).status_code == 200


async def test_list_searches_and_pages(client: httpx.AsyncClient, root: Tokens) -> None:
    for name in ("anna", "annika", "bert", "ann_marie"):
        await register(client, name)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"q": "ANN", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/admin/users", params=params, headers=root.bearer)).json()
        seen += [u["username"] for u in page["users"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["ann_marie", "anna", "annika"]


async def test_disable_and_enable(
    app: FastAPI, client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    target = await user_id(client, root, "alice")
    disabled = await client.patch(
        f"/admin/users/{target}", json={"disabled": True}, headers=root.bearer
    )
    assert disabled.json()["disabled"] is True
    await assert_session_dead(client, alice)
    refused = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    await client.patch(f"/admin/users/{target}", json={"disabled": False}, headers=root.bearer)
    await login(client)


async def test_set_password_ends_every_session(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    target = await user_id(client, root, "alice")
    response = await client.post(
        f"/admin/users/{target}/password", json={"new_password": NEW_PASSWORD}, headers=root.bearer
    )
    assert response.status_code == 204
    await assert_session_dead(client, alice)
    await login(client, "alice", NEW_PASSWORD)
    weak = await client.post(
        f"/admin/users/{target}/password", json={"new_password": "short"}, headers=root.bearer
    )
    assert weak.status_code == 422


async def test_end_sessions(client: httpx.AsyncClient, root: Tokens, alice: Tokens) -> None:
    await login(client)
    target = await user_id(client, root, "alice")
    ended = await client.delete(f"/admin/users/{target}/sessions", headers=root.bearer)
    assert ended.json() == {"ended": 2}
    await assert_session_dead(client, alice)
    again = await client.delete(f"/admin/users/{target}/sessions", headers=root.bearer)
    assert again.json() == {"ended": 0}


async def test_delete_ends_everything_and_frees_the_name(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    target = await user_id(client, root, "alice")
    assert (await client.delete(f"/admin/users/{target}", headers=root.bearer)).status_code == 204
    await assert_session_dead(client, alice)
    assert (await client.get(f"/admin/users/{target}", headers=root.bearer)).status_code == 404
    assert (await client.delete(f"/admin/users/{target}", headers=root.bearer)).status_code == 404
    await register(client, "alice")  # the name is free again, for a new account
    assert await user_id(client, root, "alice") != target


async def test_the_last_admin_cannot_be_demoted_disabled_or_deleted(
    app: FastAPI, client: httpx.AsyncClient, root: Tokens
) -> None:
    me = await user_id(client, root, "root")
    for method, body in (("PATCH", {"roles": []}), ("PATCH", {"disabled": True}), ("DELETE", None)):
        response = await client.request(
            method, f"/admin/users/{me}", json=body, headers=root.bearer
        )
        assert response.status_code == 409, response.text
        assert "administrator" in response.json()["detail"]
    await register(client, "second")
    await grant(app, "second", "admin")
    demoted = await client.patch(f"/admin/users/{me}", json={"roles": []}, headers=root.bearer)
    assert demoted.status_code == 200
    # root's token still says admin, but its next refresh does not.
    refreshed = await rotate(client, root.refresh)
    bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await client.get("/admin/users", headers=bearer)).status_code == 403


async def test_admin_actions_are_logged_with_their_actor(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    target = await user_id(client, root, "alice")
    me = await user_id(client, root, "root")
    with caplog.at_level(logging.INFO, logger="authsvc.security"):
        await client.patch(f"/admin/users/{target}", json={"disabled": True}, headers=root.bearer)
    lines = [r.event_fields for r in caplog.records if hasattr(r, "event_fields")]
    disabled = [line for line in lines if line["event"] == "user_disabled"]
    assert disabled == [
        {
            "event": "user_disabled",
            "request_id": disabled[0]["request_id"],
            "user_id": target,
            "actor_id": me,
            "count": 1,
            "ip": disabled[0]["ip"],
            "user_agent": disabled[0]["user_agent"],
        }
    ]
    assert PASSWORD not in caplog.text


# Abuse


async def test_every_route_refuses_non_admins_403_and_strangers_401(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    target = await user_id(client, root, "alice")
    for method, path, body in route_table(target):
        no_role = await client.request(method, path, json=body, headers=alice.bearer)
        assert no_role.status_code == 403, (method, path, no_role.text)
        assert no_role.json() == {"detail": "Not allowed"}
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        forged = await client.request(
            method, path, json=body, headers={"Authorization": "Bearer x.y.z"}
        )
        assert forged.status_code == 401
    # Nothing happened.
    assert (await client.get(f"/admin/users/{target}", headers=root.bearer)).json()["roles"] == []


async def test_a_revoked_admin_token_is_refused_on_every_route(
    client: httpx.AsyncClient, root: Tokens, alice: Tokens
) -> None:
    target = await user_id(client, root, "alice")
    assert (await client.post("/auth/logout-all", headers=root.bearer)).status_code == 204
    for method, path, body in route_table(target):
        response = await client.request(method, path, json=body, headers=root.bearer)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize(
    "bad_id", [UNKNOWN_ID, "1", "00000000-0000-4000-8000-00000000000G", "%00", "x" * 64]
)
async def test_malformed_and_unknown_ids_are_404(
    client: httpx.AsyncClient, root: Tokens, bad_id: str
) -> None:
    for method, path, body in route_table(bad_id):
        if bad_id not in path:
            continue
        response = await client.request(method, path, json=body, headers=root.bearer)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"detail": "User not found"}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", {"username": "x1", "password": PASSWORD, "admin": True}),
        ("POST", "", {"username": "x1"}),
        ("POST", "", {"username": "x1", "password": PASSWORD, "roles": "admin"}),
        ("POST", "", {"username": "x1", "password": PASSWORD, "email": "not-an-address"}),
        ("PATCH", "/{id}", {"disabeld": True}),
        ("PATCH", "/{id}", {"disabled": "yes please"}),
        ("PATCH", "/{id}", {"roles": ["x"] * 200}),
        ("PATCH", "/{id}", {"roles": ["Not A Role"]}),
        ("PATCH", "/{id}", {"roles": [f"r{i}" for i in range(33)]}),
        ("PATCH", "/{id}", ["roles"]),
        ("POST", "/{id}/password", {"new_password": NEW_PASSWORD, "extra": 1}),
        ("POST", "/{id}/password", {}),
    ],
)
async def test_bad_bodies_are_422(
    client: httpx.AsyncClient,
    root: Tokens,
    alice: Tokens,
    method: str,
    suffix: str,
    body: object,
) -> None:
    target = await user_id(client, root, "alice")
    path = "/admin/users" + suffix.replace("{id}", target)
    response = await client.request(method, path, json=body, headers=root.bearer)
    assert response.status_code == 422, response.text
    assert PASSWORD not in response.text


async def test_oversized_and_unparsable_bodies(client: httpx.AsyncClient, root: Tokens) -> None:
    huge = {"username": "x1", "password": PASSWORD, "email": "a" * 40_000}
    assert (await client.post("/admin/users", json=huge, headers=root.bearer)).status_code == 413
    broken = await client.post(
        "/admin/users",
        content=b'{"username": ',
        headers={**root.bearer, "Content-Type": "application/json"},
    )
    assert broken.status_code in (400, 422)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"NotCanonical").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"alice").decode(),  # padded: not the spelling handed out
        "A" * 200,
        "%00",
    ],
)
async def test_tampered_cursors_are_400(
    client: httpx.AsyncClient, root: Tokens, cursor: str
) -> None:
    response = await client.get("/admin/users", params={"cursor": cursor}, headers=root.bearer)
    assert response.status_code in (400, 422), response.text
    if len(cursor) <= 128:
        assert response.status_code == 400
        assert response.json() == {"detail": "Invalid cursor"}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "q=" + "a" * 400])
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, root: Tokens, query: str
) -> None:
    response = await client.get(f"/admin/users?{query}", headers=root.bearer)
    assert response.status_code == 422
