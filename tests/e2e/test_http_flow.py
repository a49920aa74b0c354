"""The whole login flow against a real `authsvc serve` process, over loopback HTTP."""

from __future__ import annotations

import base64
import json

import httpx

from tests.support.http import (
    COOKIE,
    CSRF_HEADER,
    PASSWORD,
    SetCookie,
    Tokens,
    bearer,
    cookie_header,
    login_sync,
    only_set_cookie,
    refresh_sync,
    register_sync,
    token_pair,
)
from tests.support.processes import Server, ServerFactory


def assert_refresh_cookie(cookie: SetCookie) -> None:
    """The default cookie: out of reach of scripts, HTTPS only, host-only (`__Host-`), 1 day."""
    assert cookie.name == COOKIE
    assert cookie.value
    assert "httponly" in cookie.attributes
    assert "secure" in cookie.attributes
    assert cookie.attributes.get("samesite", "").lower() == "strict"
    assert cookie.attributes.get("path") == "/"
    assert cookie.attributes.get("max-age") == "86400"
    assert "domain" not in cookie.attributes


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store"
    assert response.headers.get("pragma") == "no-cache"


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate") == "Bearer"


def session_id(access_token: str) -> str:
    """The `sid` claim, read without verification (the server already verified it)."""
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    sid: str = claims["sid"]
    return sid


def test_register_login_refresh_logout_over_the_wire(server: Server) -> None:
    with server.client() as client:
        user = register_sync(client, "alice")
        assert user["username"] == "alice"

        login_response = client.post(
            "/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert login_response.status_code == 200, login_response.text
        assert_no_store(login_response)
        body = login_response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 600
        login_cookie = only_set_cookie(login_response)
        assert_refresh_cookie(login_cookie)
        first = Tokens(access=body["access_token"], refresh=login_cookie.value)

        me = client.get("/auth/me", headers=first.bearer)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user["id"]
        assert me.json()["username"] == "alice"

        refreshed = refresh_sync(client, first.refresh)
        assert refreshed.status_code == 200, refreshed.text
        assert_no_store(refreshed)
        assert_refresh_cookie(only_set_cookie(refreshed))
        second = token_pair(refreshed)
        assert second.refresh != first.refresh
        assert second.access != first.access
        assert session_id(second.access) == session_id(first.access)
        assert client.get("/auth/me", headers=second.bearer).status_code == 200

        logout = client.post("/auth/logout", headers=cookie_header(second.refresh))
        assert logout.status_code == 204, logout.text
        assert logout.content == b""
        cleared = only_set_cookie(logout)
        assert cleared.name == COOKIE
        assert cleared.value in ("", '""')
        assert cleared.attributes.get("max-age") == "0"
        # Same Path (and flags) as when it was set, or a browser keeps the old cookie.
        assert cleared.attributes.get("path") == "/"
        assert "httponly" in cleared.attributes
        assert "secure" in cleared.attributes
        assert cleared.attributes.get("samesite", "").lower() == "strict"

        for stale in (second.refresh, first.refresh):
            assert_unauthorized(refresh_sync(client, stale))
        for access in (second.access, first.access):
            assert_unauthorized(client.get("/auth/me", headers=bearer(access)))

        # Logout is idempotent, and a refresh without any cookie is a plain 401.
        assert client.post("/auth/logout", headers=cookie_header(second.refresh)).status_code == 204
        assert_unauthorized(client.post("/auth/refresh", headers=CSRF_HEADER))


def test_security_log_has_events_and_no_secrets(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start(env)
    wrong_password = "correct horse battery stapler"
    mistyped_username = "Tr0ub4dor&3-as-username"
    issued: list[str] = []
    with server.client() as client:
        user = register_sync(client, "alice")

        failed = client.post("/auth/login", json={"username": "alice", "password": wrong_password})
        assert_unauthorized(failed)
        # A password typed into the username field: unknown users' names are never logged.
        unknown = client.post(
            "/auth/login", json={"username": mistyped_username, "password": wrong_password}
        )
        assert_unauthorized(unknown)

        first = login_sync(client, "alice")
        second = token_pair(refresh_sync(client, first.refresh))
        third = token_pair(refresh_sync(client, second.refresh))
        # Two generations back is never inside the grace window: theft, the family dies.
        assert_unauthorized(refresh_sync(client, first.refresh))
        assert_unauthorized(refresh_sync(client, third.refresh))
        assert_unauthorized(client.get("/auth/me", headers=third.bearer))

        other = login_sync(client, "alice")
        assert client.post("/auth/logout", headers=cookie_header(other.refresh)).status_code == 204
        for tokens in (first, second, third, other):
            issued += [tokens.access, tokens.refresh]

    server.stop()
    output = server.output()
    assert "Traceback" not in output
    assert "DEVELOPMENT MODE" not in output
    for secret in (
        PASSWORD,
        wrong_password,
        mistyped_username,
        env["ACCESS_TOKEN_SECRET"],
        env["REFRESH_TOKEN_SECRET"],
    ):
        assert secret not in output
    for token in issued:
        _header, payload, signature = token.split(".")
        assert token not in output
        assert payload not in output  # carries the jti
        assert signature not in output

    events = [entry for entry in server.events() if "event" in entry]
    failures = [e for e in events if e["event"] == "login_failed"]
    assert len(failures) == 2, events
    assert all(e["level"] == "warning" for e in failures)
    assert [(e["user_id"], e["known_user"]) for e in failures] == [
        (user["id"], True),
        (None, False),
    ]
    reuses = [e for e in events if e["event"] == "refresh_reuse_detected"]
    assert len(reuses) == 1, events
    assert reuses[0]["level"] == "warning"
    assert reuses[0]["user_id"] == user["id"]
    assert reuses[0]["session_id"] == session_id(first.access)
    revoked = [e for e in events if e["event"] == "session_revoked"]
    assert [e["session_id"] for e in revoked] == [session_id(other.access)]
