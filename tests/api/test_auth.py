"""Login, refresh rotation with reuse detection, logout."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support.apps import app_client, asgi_client
from tests.support.http import (
    COOKIE,
    CSRF_HEADER,
    PASSWORD,
    Tokens,
    assert_session_dead,
    cookie_header,
    login,
    new_refresh_token,
    register,
    rotate,
    set_cookie_jar,
)
from tests.support.logs import security_events
from tests.support.settings import FakeClock, make_settings

# login


async def test_login_returns_bearer_token_and_refresh_cookie(client: httpx.AsyncClient) -> None:
    await register(client)
    response = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    morsel = set_cookie_jar(response)[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert not morsel["domain"]
    assert morsel["max-age"] == "86400"
    assert morsel.value != body["access_token"]


async def test_login_accepts_username_in_any_case(client: httpx.AsyncClient) -> None:
    await register(client, "Alice")
    response = await client.post("/auth/login", json={"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password here"), ("nobody", PASSWORD), ("", PASSWORD), ("a b", PASSWORD)],
)
async def test_login_failures_look_the_same(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    await register(client)
    response = await client.post("/auth/login", json={"username": username, "password": password})
    if username == "":
        # An empty field fails schema validation before anything else.
        assert response.status_code == 422
        return
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid username or password"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert "set-cookie" not in response.headers


async def test_token_route_takes_the_oauth2_password_form(client: httpx.AsyncClient) -> None:
    await register(client)
    response = await client.post("/auth/token", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert COOKIE in set_cookie_jar(response)

    me = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.status_code == 200

    wrong = await client.post("/auth/token", data={"username": "alice", "password": "nope nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"


# refresh and rotation


async def test_refresh_rotates_the_cookie_every_time(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    seen = {alice.refresh}
    token = alice.refresh
    for _ in range(3):
        response = await rotate(client, token)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        token = new_refresh_token(response)
        assert token not in seen
        seen.add(token)
        me = await client.get(
            "/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        assert me.status_code == 200


async def test_refresh_uses_the_client_cookie_jar(client: httpx.AsyncClient, alice: Tokens) -> None:
    # The jar got the cookie at login; a browser-like client needs no manual header.
    response = await client.post("/auth/refresh")
    assert response.status_code == 200
    assert client.cookies.get(COOKIE) == new_refresh_token(response)


@pytest.mark.parametrize(
    "cookie",
    [None, "", "garbage", "a.b.c", "x" * 5000],
    ids=["missing", "empty", "garbage", "three-dots", "huge"],
)
async def test_refresh_rejects_missing_and_invalid_cookies(
    client: httpx.AsyncClient, alice: Tokens, cookie: str | None
) -> None:
    client.cookies.clear()
    headers = cookie_header(cookie) if cookie is not None else {}
    response = await client.post("/auth/refresh", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


async def test_access_token_cannot_be_used_as_refresh_cookie(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    response = await rotate(client, alice.access)
    assert response.status_code == 401


async def test_superseded_token_inside_grace_window_gets_access_token_but_no_cookie(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    first = await rotate(client, alice.refresh)
    newest = new_refresh_token(first)

    clock.advance(2)  # two tabs, a moment apart
    replay = await rotate(client, alice.refresh)

    assert replay.status_code == 200
    assert "set-cookie" not in replay.headers  # the winner's newer cookie must not be overwritten
    me = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {replay.json()['access_token']}"}
    )
    assert me.status_code == 200
    # The session is intact: the newest cookie rotates as usual.
    assert (await rotate(client, newest)).status_code == 200


async def test_a_grace_window_replay_is_logged_as_a_security_event(
    client: httpx.AsyncClient, alice: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    await rotate(client, alice.refresh)
    caplog.set_level(logging.INFO, logger="authsvc.security")

    assert (await rotate(client, alice.refresh)).status_code == 200

    events = security_events(caplog)
    replays = [e for e in events if e["event"] == "refresh_grace_replayed"]
    assert len(replays) == 1, events
    assert replays[0]["session_id"] and replays[0]["user_id"]
    assert alice.refresh not in json.dumps(replays[0])


async def test_reuse_after_grace_window_revokes_the_whole_session(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    first = await rotate(client, alice.refresh)
    newest = Tokens(access=first.json()["access_token"], refresh=new_refresh_token(first))

    clock.advance(6)  # past the 5 s grace window
    reuse = await rotate(client, alice.refresh)

    assert reuse.status_code == 401
    assert reuse.headers["www-authenticate"] == "Bearer"
    await assert_session_dead(client, newest)
    await assert_session_dead(client, alice)


async def test_older_generation_is_reuse_even_inside_grace_window(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    # Only the token superseded last gets grace; anything older is a stolen copy.
    second = new_refresh_token(await rotate(client, alice.refresh))
    third_response = await rotate(client, second)
    third = new_refresh_token(third_response)

    reuse = await rotate(client, alice.refresh)

    assert reuse.status_code == 401
    assert (await rotate(client, third)).status_code == 401
    me = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {third_response.json()['access_token']}"}
    )
    assert me.status_code == 401


async def test_concurrent_refreshes_of_one_cookie_yield_exactly_one_successor(
    app: FastAPI, alice: Tokens
) -> None:
    async with asgi_client(app, headers=None) as c:
        responses = await asyncio.gather(
            *(c.post("/auth/refresh", headers=cookie_header(alice.refresh)) for _ in range(20))
        )
    statuses = [r.status_code for r in responses]
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(200) == 20, statuses  # the losers are inside the grace window
    successors = [r for r in responses if "set-cookie" in r.headers]
    assert len(successors) == 1
    async with asgi_client(app, headers=None) as c:
        again = await c.post(
            "/auth/refresh", headers=cookie_header(new_refresh_token(successors[0]))
        )
    assert again.status_code == 200


async def test_idle_session_expires(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    clock.advance(86_400 + 1)
    response = await rotate(client, alice.refresh)
    assert response.status_code == 401


async def test_absolute_cap_holds_under_repeated_rotation(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(
        tmp_path, refresh_token_ttl_seconds=1_800, session_max_lifetime_seconds=3_600
    )
    async with app_client(settings, clock=clock, headers=None) as c:
        await register(c)
        tokens = await login(c)
        started = clock.now
        deadline = started + timedelta(seconds=3_600)
        token = tokens.refresh
        last_access = tokens.access
        for _ in range(10):
            clock.advance(700)  # always well inside the 30-minute idle window
            response = await rotate(c, token)
            if clock.now >= deadline:
                assert response.status_code == 401
                break
            assert response.status_code == 200
            token = new_refresh_token(response)
            max_age = int(set_cookie_jar(response)[COOKIE]["max-age"])
            # The cookie and the access token never reach past the absolute cap.
            assert clock.now + timedelta(seconds=max_age) <= deadline
            assert clock.now + timedelta(seconds=response.json()["expires_in"]) <= deadline
            last_access = response.json()["access_token"]
        else:
            pytest.fail("rotation kept the session alive past its absolute lifetime")
        clock.advance(1)
        me = await c.get("/auth/me", headers={"Authorization": f"Bearer {last_access}"})
        assert me.status_code == 401


# logout


async def test_logout_kills_refresh_and_access_tokens_and_clears_cookie(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    response = await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert response.status_code == 204
    cleared = set_cookie_jar(response)[COOKIE]
    assert cleared.value == ""
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    await assert_session_dead(client, alice)


@pytest.mark.parametrize("cookie", [None, "garbage"])
async def test_logout_is_idempotent(
    client: httpx.AsyncClient, alice: Tokens, cookie: str | None
) -> None:
    first = await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert first.status_code == 204
    client.cookies.clear()
    again = await client.post(
        "/auth/logout", headers=cookie_header(cookie) if cookie else cookie_header("")
    )
    assert again.status_code == 204
    twice = await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert twice.status_code == 204


async def test_logout_leaves_other_sessions_alone(client: httpx.AsyncClient, alice: Tokens) -> None:
    other = await login(client)
    await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert (await client.get("/auth/me", headers=other.bearer)).status_code == 200
    assert (await rotate(client, other.refresh)).status_code == 200


async def test_logout_all_ends_every_session_of_the_user(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    laptop = await login(client)
    await register(client, "bob")
    bob = await login(client, "bob")

    response = await client.post("/auth/logout-all", headers=alice.bearer)

    assert response.status_code == 204
    assert set_cookie_jar(response)[COOKIE]["max-age"] == "0"
    await assert_session_dead(client, alice)
    await assert_session_dead(client, laptop)
    assert (await client.get("/auth/me", headers=bob.bearer)).status_code == 200


async def test_logout_all_requires_a_bearer_token(client: httpx.AsyncClient, alice: Tokens) -> None:
    response = await client.post("/auth/logout-all")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


async def test_a_new_login_after_logout_all_works(client: httpx.AsyncClient, alice: Tokens) -> None:
    await client.post("/auth/logout-all", headers=alice.bearer)
    again = await login(client)
    assert (await client.get("/auth/me", headers=again.bearer)).status_code == 200


# duplicate refresh cookies (cookie tossing from a sibling subdomain)


def two_cookies(
    first: str, second: str, *, separate_headers: bool = False
) -> list[tuple[str, str]]:
    if separate_headers:
        cookies = [("Cookie", f"{COOKIE}={first}"), ("Cookie", f"{COOKIE}={second}")]
    else:
        cookies = [("Cookie", f"{COOKIE}={first}; other=1; {COOKIE}={second}")]
    return [*cookies, *CSRF_HEADER.items()]


@pytest.mark.parametrize("separate_headers", [False, True], ids=["one-header", "two-headers"])
@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
async def test_a_request_with_two_refresh_cookies_is_refused(
    client: httpx.AsyncClient, alice: Tokens, path: str, separate_headers: bool
) -> None:
    await register(client, "mallory")
    mallory = await login(client, "mallory")
    client.cookies.clear()

    response = await client.post(
        path,
        headers=two_cookies(alice.refresh, mallory.refresh, separate_headers=separate_headers),
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "More than one refresh cookie"}
    # Neither cookie was used nor overwritten, and neither session ended.
    assert "set-cookie" not in response.headers
    for tokens in (alice, mallory):
        assert (await client.get("/auth/me", headers=tokens.bearer)).status_code == 200
        assert (await rotate(client, tokens.refresh)).status_code == 200


async def test_cookies_that_only_resemble_the_refresh_cookie_are_not_counted(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    client.cookies.clear()
    header = f"x{COOKIE}=1; {COOKIE.lower()}=2; {COOKIE}={alice.refresh}; {COOKIE}x=3"
    response = await client.post("/auth/refresh", headers={"Cookie": header, **CSRF_HEADER})
    assert response.status_code == 200, response.text
