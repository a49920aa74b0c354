"""Roles in tokens, /auth/me and /auth/verify?role=; disabled accounts at login and refresh."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from authsvc.container import Services
from authsvc.roles import ADMIN
from authsvc.services.admin import Actor
from authsvc.store.records import UserChanges
from tests.api.admin_helpers import grant
from tests.support.http import PASSWORD, Tokens, login, new_refresh_token, register, rotate

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def test_me_shows_a_role_change_at_once(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    assert (await client.get("/auth/me", headers=alice.bearer)).json()["roles"] == []
    await grant(app, "alice", "ops", "admin")
    assert (await client.get("/auth/me", headers=alice.bearer)).json()["roles"] == ["admin", "ops"]


async def test_role_check_follows_the_current_roles_from_the_next_refresh(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    denied = await client.get("/auth/verify?role=ops", headers=alice.bearer)
    assert denied.status_code == 403
    assert denied.json() == {"detail": "Not allowed"}
    assert denied.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert not any(name.lower().startswith("x-auth-") for name in denied.headers)

    await grant(app, "alice", "ops", "audit")
    refreshed = await rotate(client, alice.refresh)
    assert refreshed.status_code == 200
    bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    allowed = await client.get("/auth/verify?role=ops", headers=bearer)
    assert allowed.status_code == 200
    assert allowed.headers["x-auth-roles"] == "audit,ops"
    both = await client.get("/auth/verify?role=ops&role=audit", headers=bearer)
    assert both.status_code == 200
    assert (await client.get("/auth/verify?role=ops&role=admin", headers=bearer)).status_code == 403

    await grant(app, "alice")  # every role taken away
    again = await rotate(client, new_refresh_token(refreshed))
    bearer = {"Authorization": f"Bearer {again.json()['access_token']}"}
    assert (await client.get("/auth/verify?role=ops", headers=bearer)).status_code == 403
    plain = await client.get("/auth/verify", headers=bearer)
    assert plain.status_code == 200 and plain.headers["x-auth-roles"] == ""


@pytest.mark.parametrize(
    "query",
    ["role=", "role=Admin", "role=%00", "role=a%20b", "role=" + "a" * 5000, "role=admin,ops"],
)
async def test_a_role_name_nobody_can_hold_is_refused_with_403(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens, query: str
) -> None:
    await grant(app, "alice", ADMIN, "ops")
    tokens = await login(client)
    response = await client.get(f"/auth/verify?{query}", headers=tokens.bearer)
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("method", METHODS)
async def test_verify_with_a_role_answers_only_200_401_or_403(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens, method: str
) -> None:
    assert (
        await client.request(method, "/auth/verify?role=ops", headers=alice.bearer)
    ).status_code == 403
    assert (await client.request(method, "/auth/verify?role=ops")).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.request(method, "/auth/verify?role=ops", headers=bad)).status_code == 401
    await grant(app, "alice", "ops")
    tokens = await login(client)
    assert (
        await client.request(method, "/auth/verify?role=ops", headers=tokens.bearer)
    ).status_code == 200


async def disable(app: FastAPI, username: str) -> None:
    services: Services = app.state.services
    user = await services.core.store.get_user_by_username(username)
    assert user is not None
    await services.admin.update_user(
        Actor(None),
        user.id,
        UserChanges(disabled=True),
    )


async def test_a_disabled_account_gets_403_only_with_the_right_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    await disable(app, "alice")
    wrong = await client.post("/auth/login", json={"username": "alice", "password": "wrong" * 4})
    assert wrong.status_code == 401
    right = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert right.status_code == 403
    assert right.json() == {"detail": "Account disabled"}
    assert "set-cookie" not in right.headers


async def test_disabling_ends_sessions_and_access_tokens_at_once(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    await disable(app, "alice")
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 401
    assert (await client.get("/auth/verify", headers=alice.bearer)).status_code == 401
    assert (await rotate(client, alice.refresh)).status_code == 401
