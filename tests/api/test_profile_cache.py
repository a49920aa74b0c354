"""/auth/me through the profile cache: every change made through this process is shown at
once, one made elsewhere unheard (a command without Redis) within PROFILE_CACHE_SECONDS by
the service clock, and an ended session is refused whatever the cache holds."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from authsvc.container import Services
from authsvc.roles import ADMIN
from authsvc.settings import Settings
from authsvc.store import open_store
from authsvc.store.records import UserChanges
from tests.api.admin_helpers import admin_login
from tests.support.apps import ClientFor
from tests.support.http import Tokens, cookie_header, login, register
from tests.support.settings import FakeClock

MAX_AGE = 5.0


async def roles_shown(client: httpx.AsyncClient, tokens: Tokens) -> list[str]:
    me = await client.get("/auth/me", headers=tokens.bearer)
    assert me.status_code == 200, me.text
    roles: list[str] = me.json()["roles"]
    return roles


async def change_elsewhere(settings: Settings, username: str, *roles: str) -> None:
    """What `authsvc users set-roles` does without Redis: the store only, from another process."""
    async with open_store(settings.database_url) as store:
        user = await store.get_user_by_username(username)
        assert user is not None
        await store.update_user(
            user.id, UserChanges(roles=roles), now=user.created_at, keep_holder_of=ADMIN
        )


async def test_an_administrators_change_is_shown_at_once(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    root = await admin_login(app, client)
    me = (await client.get("/auth/me", headers=alice.bearer)).json()
    for roles, email in ((["ops"], "a@example.org"), ([], None)):
        patched = await client.patch(
            f"/admin/users/{me['id']}",
            json={"roles": roles, "email": email, "email_verified": email is not None},
            headers=root.bearer,
        )
        assert patched.status_code == 200, patched.text
        shown = (await client.get("/auth/me", headers=alice.bearer)).json()
        assert (shown["roles"], shown["email"]) == (roles, email)
        assert shown["email_verified"] == (email is not None)


async def test_a_change_nobody_announced_shows_after_the_max_age(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens, clock: FakeClock, settings: Settings
) -> None:
    assert settings.profile_cache_seconds == MAX_AGE  # the default
    assert await roles_shown(client, alice) == []
    await change_elsewhere(settings, "alice", "ops")

    clock.advance(MAX_AGE - 0.5)
    assert await roles_shown(client, alice) == []  # kept, at most this long
    clock.advance(0.5)
    assert await roles_shown(client, alice) == ["ops"]


async def test_zero_seconds_reads_every_profile(
    client_for: ClientFor, settings: Settings, database_url: str
) -> None:
    async with client_for(database_url=database_url, profile_cache_seconds=0) as client:
        await register(client)
        alice = await login(client)
        assert await roles_shown(client, alice) == []
        await change_elsewhere(settings, "alice", "ops")
        assert await roles_shown(client, alice) == ["ops"]


async def test_an_ended_session_is_refused_though_its_profile_is_kept(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    assert await roles_shown(client, alice) == []
    services: Services = app.state.services
    assert services.core.profiles is not None and len(services.core.profiles) == 1

    assert (
        await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    ).status_code == 204
    me = await client.get("/auth/me", headers=alice.bearer)
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == "Bearer"
