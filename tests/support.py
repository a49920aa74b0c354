"""Helpers the tests share: constants, a hand-moved clock, login shortcuts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from authsvc.app import create_app
from authsvc.settings import HOST_COOKIE_NAME, Settings
from authsvc.store.base import NewAuditEvent

ACCESS_SECRET = "test-access-secret-0123456789abcdef0123456789"
REFRESH_SECRET = "test-refresh-secret-fedcba9876543210fedcba987"
PASSWORD = "correct horse battery staple"
BASE_URL = "https://authsvc.test"
# The refresh cookie's name under `make_settings`' defaults (Secure, no COOKIE_DOMAIN).
COOKIE = HOST_COOKIE_NAME
# The cookie routes require this header (api/csrf.py), as an SPA's fetch wrapper sends it.
CSRF_HEADER = {"X-Requested-With": "XMLHttpRequest"}


class FakeClock:
    """A clock tests move by hand; starts at the real now so jose's own checks agree."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "access_token_secret": ACCESS_SECRET,
        "refresh_token_secret": REFRESH_SECRET,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class LoggedIn:
    access_token: str
    refresh_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD
) -> dict[str, object]:
    body = {"username": username, "password": password}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, object] = response.json()
    return user


async def login(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD
) -> LoggedIn:
    response = await client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    refresh = response.cookies.get(COOKIE)
    assert refresh
    return LoggedIn(access_token=response.json()["access_token"], refresh_token=refresh)


def refresh_cookie(token: str) -> dict[str, str]:
    """A Cookie header carrying a specific refresh token, whatever the client's jar holds."""
    return {"Cookie": f"{COOKIE}={token}", **CSRF_HEADER}


def parse_set_cookie(response: httpx.Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


async def rotate(client: httpx.AsyncClient, token: str) -> httpx.Response:
    client.cookies.clear()
    return await client.post("/auth/refresh", headers=refresh_cookie(token))


def new_refresh_token(response: httpx.Response) -> str:
    cookie = parse_set_cookie(response)
    assert COOKIE in cookie, "expected a rotated refresh cookie"
    return cookie[COOKIE].value


async def assert_session_dead(client: httpx.AsyncClient, tokens: LoggedIn) -> None:
    me = await client.get("/auth/me", headers=tokens.bearer)
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == "Bearer"
    refreshed = await rotate(client, tokens.refresh_token)
    assert refreshed.status_code == 401
    assert refreshed.headers["www-authenticate"] == "Bearer"


def audit_entry(
    occurred_at: datetime, *, subject: str = "u", kind: str = "login_succeeded", **details: int
) -> NewAuditEvent:
    """An audit-log entry about `subject`, by `subject`, with no client."""
    return NewAuditEvent(
        occurred_at=occurred_at,
        kind=kind,
        actor_id=subject,
        subject_id=subject,
        session_id=None,
        ip=None,
        user_agent=None,
        details=details,
    )


@asynccontextmanager
async def serving(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A started app on `settings` and a client of it, as a browser's fetch calls it."""
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=CSRF_HEADER) as client,
    ):
        yield app, client
