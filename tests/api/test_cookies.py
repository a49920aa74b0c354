"""RefreshCookie: one object sets, reads and clears the refresh cookie, alike every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from fastapi import Request, Response

from authsvc.api.cookies import RefreshCookie
from authsvc.errors import DuplicateCookie
from authsvc.events import EventKind, SecurityEvent
from authsvc.tokens import IssuedToken
from tests.support.settings import make_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def request_with(*cookie_headers: str) -> Request:
    headers = [(b"cookie", value.encode()) for value in cookie_headers]
    return Request({"type": "http", "method": "POST", "path": "/auth/refresh", "headers": headers})


def set_cookie_attributes(response: Response) -> dict[str, str]:
    (header,) = response.headers.getlist("set-cookie")
    (morsel,) = SimpleCookie(header).values()
    return {
        name: str(value) for name, value in morsel.items() if name not in ("max-age", "expires")
    }


@pytest.mark.parametrize(
    "overrides",
    [{}, {"cookie_domain": "example.com", "cookie_path": "/auth", "cookie_samesite": "lax"}],
)
def test_clearing_repeats_every_attribute_the_cookie_was_set_with(
    tmp_path: Path, overrides: dict[str, object]
) -> None:
    cookie = RefreshCookie.from_settings(make_settings(tmp_path, **overrides))
    issued, cleared = Response(), Response()
    cookie.set(issued, IssuedToken(token="t0ken", jti="j", issued_at=NOW, expires_at=NOW))
    cookie.clear(cleared)
    assert set_cookie_attributes(issued) == set_cookie_attributes(cleared)
    assert set_cookie_attributes(issued)["httponly"]


COOKIE_SETTINGS = [
    {},
    {"cookie_domain": "example.com", "cookie_path": "/auth", "cookie_samesite": "lax"},
    {"cookie_path": "/auth", "cookie_samesite": "strict"},
    {"cookie_domain": "auth.example.org", "cookie_path": "/auth", "cookie_samesite": "none"},
    {"environment": "development", "cookie_secure": False, "cookie_path": "/auth"},
]


@pytest.mark.parametrize("overrides", COOKIE_SETTINGS)
@pytest.mark.parametrize(
    ("token", "lifetime"),
    [
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLV8", 86_400),
        ("a.b.c", 0),
        # Not a JWS: http.cookies quotes it, so Starlette writes this one.
        ('with space;and"quote', 600),
    ],
)
def test_the_set_cookie_header_is_the_one_starlette_writes(
    tmp_path: Path, overrides: dict[str, object], token: str, lifetime: int
) -> None:
    settings = make_settings(tmp_path, **overrides)
    cookie = RefreshCookie.from_settings(settings)
    ours, starlettes = Response(), Response()
    expires = NOW + timedelta(seconds=lifetime)
    cookie.set(ours, IssuedToken(token=token, jti="j", issued_at=NOW, expires_at=expires))
    starlettes.set_cookie(
        settings.cookie_name,
        token,
        max_age=lifetime,
        path=settings.cookie_path,
        domain=settings.cookie_domain,
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.cookie_samesite,
    )
    assert ours.headers.getlist("set-cookie") == starlettes.headers.getlist("set-cookie")


class Heard:
    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []

    async def record(self, event: SecurityEvent) -> None:
        self.events.append(event)


async def test_read_answers_the_one_cookie_and_refuses_two(tmp_path: Path) -> None:
    cookie = RefreshCookie.from_settings(make_settings(tmp_path))
    heard = Heard()
    assert await cookie.read(request_with(f"a=1; {cookie.name}=mine"), heard) == "mine"
    assert await cookie.read(request_with("a=1"), heard) is None
    assert heard.events == []
    with pytest.raises(DuplicateCookie):
        await cookie.read(request_with(f"{cookie.name}=planted; {cookie.name}=mine"), heard)
    with pytest.raises(DuplicateCookie):
        await cookie.read(request_with(f"{cookie.name}=planted", f"{cookie.name}=mine"), heard)
    assert [(e.kind, e.count) for e in heard.events] == [
        (EventKind.REFRESH_COOKIE_DUPLICATED, 2)
    ] * 2
