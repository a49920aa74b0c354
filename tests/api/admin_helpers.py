"""Shortcuts for tests of roles and administration: grant roles, log an administrator in."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from authsvc.container import Services
from authsvc.roles import ADMIN
from authsvc.store.records import UserChanges
from tests.support.http import Tokens, login, register


async def grant(app: FastAPI, username: str, *roles: str) -> str:
    """Give `username` exactly `roles` straight in the store; the user's id."""
    services: Services = app.state.services
    store = services.core.store
    user = await store.get_user_by_username(username)
    assert user is not None
    now = services.core.clock()
    await store.update_user(user.id, UserChanges(roles=roles), now=now, keep_holder_of=ADMIN)
    return user.id


async def admin_login(app: FastAPI, client: httpx.AsyncClient, username: str = "root") -> Tokens:
    """A new account holding `admin`, logged in (so its access token carries the role)."""
    await register(client, username)
    await grant(app, username, ADMIN)
    return await login(client, username)
