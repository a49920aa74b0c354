"""Every flow outcome reports one event, which the security log and the metrics both get.

Each test drives one outcome through the app, then reads both channels: the log lines since
the last look, and how `authsvc_security_events_total` moved, must name the same events, and
the flow counters the dashboards chart must move with them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.logs import JsonFormatter
from authsvc.settings import Settings
from tests.support.http import (
    COOKIE,
    CSRF_HEADER,
    PASSWORD,
    Tokens,
    cookie_header,
    login,
    register,
    rotate,
)
from tests.support.scrape import SampleKey, Scrape, counter
from tests.support.settings import FakeClock, make_settings

WRONG = "definitely not it"
NEW_PASSWORD = "a brand new passphrase"
Line = dict[str, object]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url=database_url,
        throttle_per_account_ip="3/minute",
        throttle_registration_per_ip="3/minute",
        max_sessions_per_user=3,
        session_retention_seconds=3_600,
    )


class Channels:
    """The security log and the metrics of one app, read side by side."""

    def __init__(self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
        self._client = client
        self._caplog = caplog
        self._before = Scrape(types={}, values={})

    async def mark(self) -> None:
        self._before = await self._scrape()
        self._caplog.clear()

    async def seen(self) -> tuple[list[Line], dict[SampleKey, float]]:
        """The lines logged since the mark (checked to be exactly the events counted) and how
        the flow counters moved; then marks again."""
        after = await self._scrape()
        lines = [
            json.loads(JsonFormatter().format(r))
            for r in self._caplog.records
            if r.name == "authsvc.security"
        ]
        counted: Counter[str] = Counter()
        for key, value in after.values.items():
            name, labels = key
            moved = value - self._before.values.get(key, 0.0)
            if name == "authsvc_security_events_total" and moved:
                counted[dict(labels)["event"]] += int(moved)
        assert counted == Counter(str(line["event"]) for line in lines)
        flows = after.domain_deltas(self._before)
        self._before = after
        self._caplog.clear()
        return lines, flows

    async def _scrape(self) -> Scrape:
        response = await self._client.get("/metrics")
        assert response.status_code == 200, response.text
        return Scrape.parse(response.text)


@pytest.fixture
async def channels(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> Channels:
    caplog.set_level(logging.DEBUG, logger="authsvc.security")
    seen = Channels(client, caplog)
    await seen.mark()
    return seen


@pytest.fixture
async def bob(client: httpx.AsyncClient, channels: Channels) -> Tokens:
    await register(client, "bob")
    tokens = await login(client, "bob")
    client.cookies.clear()
    await channels.mark()
    return tokens


def names(lines: list[Line]) -> list[object]:
    return [line["event"] for line in lines]


def has_client(line: Line) -> bool:
    return line["ip"] == "127.0.0.1" and str(line["user_agent"]).startswith("python-httpx")


async def test_a_login(client: httpx.AsyncClient, channels: Channels) -> None:
    await register(client)
    await channels.mark()
    await login(client)

    lines, flows = await channels.seen()
    assert names(lines) == ["login_succeeded"]
    assert has_client(lines[0])
    assert flows == {counter("authsvc_logins_total", result="succeeded"): 1}


async def test_failed_logins(client: httpx.AsyncClient, channels: Channels, bob: Tokens) -> None:
    for username in ("bob", "nobody"):
        response = await client.post("/auth/login", json={"username": username, "password": WRONG})
        assert response.status_code == 401

    lines, flows = await channels.seen()
    assert [(line["event"], line["known_user"]) for line in lines] == [
        ("login_failed", True),
        ("login_failed", False),
    ]
    assert flows == {counter("authsvc_logins_total", result="failed"): 2}


async def test_a_throttled_login(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    statuses = [
        (await client.post("/auth/login", json={"username": "bob", "password": WRONG})).status_code
        for _ in range(4)
    ]

    assert statuses == [401, 401, 401, 429]
    lines, flows = await channels.seen()
    assert names(lines) == ["login_failed"] * 3 + ["login_throttled"]
    assert has_client(lines[-1])
    assert flows == {
        counter("authsvc_logins_total", result="failed"): 3,
        counter("authsvc_throttled_requests_total", flow="login"): 1,
    }


async def test_a_login_over_the_session_cap(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    await login(client, "bob")
    await login(client, "bob")  # the third: at the cap
    await channels.mark()
    await login(client, "bob")

    lines, flows = await channels.seen()
    assert names(lines) == ["sessions_revoked", "login_succeeded"]
    assert (lines[0]["reason"], lines[0]["count"]) == ("session_limit", 1)
    assert flows == {
        counter("authsvc_logins_total", result="succeeded"): 1,
        counter("authsvc_sessions_revoked_total", reason="session_limit"): 1,
    }


async def test_refresh_rotation_grace_and_reuse(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens, clock: FakeClock
) -> None:
    assert (await rotate(client, bob.refresh)).status_code == 200
    lines, flows = await channels.seen()
    assert names(lines) == ["refresh_rotated"]
    assert (lines[0]["level"], has_client(lines[0])) == ("debug", True)
    assert flows == {counter("authsvc_refreshes_total"): 1}

    clock.advance(2)  # a second tab, inside the grace window
    assert (await rotate(client, bob.refresh)).status_code == 200
    lines, flows = await channels.seen()
    assert names(lines) == ["refresh_grace_replayed"]
    assert flows == {counter("authsvc_refresh_grace_replays_total"): 1}

    clock.advance(60)  # the superseded token again, past the window: a stolen copy
    assert (await rotate(client, bob.refresh)).status_code == 401
    lines, flows = await channels.seen()
    # One line, which stands for the revocation the metrics count beside it.
    assert names(lines) == ["refresh_reuse_detected"]
    assert has_client(lines[0])
    assert flows == {
        counter("authsvc_refresh_reuse_detected_total"): 1,
        counter("authsvc_sessions_revoked_total", reason="reuse_detected"): 1,
    }


async def test_a_duplicated_refresh_cookie(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    cookie = f"{COOKIE}={bob.refresh}; {COOKIE}=planted"
    response = await client.post("/auth/refresh", headers={"Cookie": cookie, **CSRF_HEADER})

    assert response.status_code == 400
    lines, flows = await channels.seen()
    assert [(line["event"], line["count"]) for line in lines] == [("refresh_cookie_duplicated", 2)]
    assert flows == {}


async def test_the_ways_sessions_end(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    laptop = await login(client, "bob")
    client.cookies.clear()
    await channels.mark()

    await client.post("/auth/logout", headers=cookie_header(laptop.refresh))
    lines, flows = await channels.seen()
    assert [(line["event"], line["reason"]) for line in lines] == [("session_revoked", "logout")]
    assert flows == {counter("authsvc_sessions_revoked_total", reason="logout"): 1}

    phone = await login(client, "bob")
    client.cookies.clear()
    sessions = (await client.get("/auth/sessions", headers=bob.bearer)).json()["sessions"]
    phone_id = next(s["id"] for s in sessions if not s["current"])
    await channels.mark()
    assert (await client.delete(f"/auth/sessions/{phone_id}", headers=bob.bearer)).is_success
    lines, flows = await channels.seen()
    assert [(line["event"], line["reason"]) for line in lines] == [
        ("session_revoked", "signed_out")
    ]
    assert flows == {counter("authsvc_sessions_revoked_total", reason="signed_out"): 1}

    assert (await client.post("/auth/logout-all", headers=phone.bearer)).status_code == 401
    assert (await client.post("/auth/logout-all", headers=bob.bearer)).is_success
    lines, flows = await channels.seen()
    assert [(line["event"], line["reason"], line["count"]) for line in lines] == [
        ("sessions_revoked", "logout_all", 1)
    ]
    assert flows == {counter("authsvc_sessions_revoked_total", reason="logout_all"): 1}


async def change_password(client: httpx.AsyncClient, tokens: Tokens, current: str) -> int:
    body = {"current_password": current, "new_password": NEW_PASSWORD}
    response = await client.post("/auth/password", headers=tokens.bearer, json=body)
    return response.status_code


async def test_a_password_change_with_no_other_session(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    assert await change_password(client, bob, PASSWORD) == 204

    lines, flows = await channels.seen()
    # Nothing else was revoked, so no sessions_revoked line: the metrics count none either.
    assert names(lines) == ["password_changed"]
    assert has_client(lines[0])
    assert flows == {}


async def test_a_password_change_ending_another_session(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    await login(client, "bob")
    await channels.mark()
    assert await change_password(client, bob, PASSWORD) == 204

    lines, flows = await channels.seen()
    assert [(line["event"], line.get("count")) for line in lines] == [
        ("sessions_revoked", 1),
        ("password_changed", None),
    ]
    assert flows == {counter("authsvc_sessions_revoked_total", reason="password_changed"): 1}


async def test_failed_and_throttled_password_changes(
    client: httpx.AsyncClient, channels: Channels, bob: Tokens
) -> None:
    statuses = [await change_password(client, bob, WRONG) for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    lines, flows = await channels.seen()
    assert names(lines) == ["password_change_failed"] * 3 + ["password_change_throttled"]
    assert all(has_client(line) for line in lines)
    assert flows == {counter("authsvc_throttled_requests_total", flow="password_change"): 1}


async def test_a_throttled_registration(client: httpx.AsyncClient, channels: Channels) -> None:
    body = {"username": "eve", "password": PASSWORD}
    statuses = [(await client.post("/auth/register", json=body)).status_code for _ in range(4)]

    assert statuses == [201, 409, 409, 429]
    lines, flows = await channels.seen()
    assert [(line["event"], line["ip"]) for line in lines] == [
        ("registration_throttled", "127.0.0.1")
    ]
    assert flows == {counter("authsvc_throttled_requests_total", flow="registration"): 1}


async def test_a_purge(
    app: FastAPI,
    client: httpx.AsyncClient,
    channels: Channels,
    bob: Tokens,
    settings: Settings,
    clock: FakeClock,
) -> None:
    await client.post("/auth/logout", headers=cookie_header(bob.refresh))
    clock.advance(settings.session_retention_seconds + 1)
    await channels.mark()
    purger = app.state.services.core.purger

    assert await purger.purge() == 1
    lines, flows = await channels.seen()
    assert [(line["event"], line["count"]) for line in lines] == [("sessions_purged", 1)]
    assert flows == {}
