"""How a session was opened travels in its tokens (`amr`) and gates /auth/verify?mfa=1."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from jose import jwt

from authsvc.amr import MFA, OTP, PWD, methods
from authsvc.container import Services
from authsvc.events import ClientInfo
from tests.support.http import Tokens, bearer, new_refresh_token, rotate


def _amr(access_token: str) -> list[str]:
    claims: list[str] = jwt.get_unverified_claims(access_token)["amr"]
    return claims


async def _two_factor_session(app: FastAPI, username: str) -> Tokens:
    """A session opened as after a password and a one-time code, straight through the service
    the second login step ends in."""
    services: Services = app.state.services
    user = await services.core.store.get_user_by_username(username)
    assert user is not None
    issued = await services.sessions.establish(
        user, ClientInfo(ip="127.0.0.1", user_agent="test"), amr=methods(PWD, OTP)
    )
    assert issued.refresh is not None
    return Tokens(issued.access.token, issued.refresh.token)


async def test_a_password_login_says_pwd_and_keeps_saying_it_after_refresh(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    assert _amr(alice.access) == [PWD]
    refreshed = await rotate(client, alice.refresh)
    assert refreshed.status_code == 200
    assert _amr(refreshed.json()["access_token"]) == [PWD]


async def test_verify_with_mfa_refuses_a_one_factor_session_with_403(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    plain = await client.get("/auth/verify", headers=alice.bearer)
    assert plain.status_code == 200
    assert plain.headers["x-auth-amr"] == "pwd"

    refused = await client.get("/auth/verify?mfa=1", headers=alice.bearer)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "A second factor is required"}
    # RFC 9470: the client is told a stronger login would pass, not that a role is missing.
    assert refused.headers["www-authenticate"] == (
        'Bearer error="insufficient_user_authentication"'
    )
    assert not any(name.lower().startswith("x-auth-") for name in refused.headers)
    assert (await client.get("/auth/verify?mfa=0", headers=alice.bearer)).status_code == 200


async def test_a_two_factor_session_passes_mfa_through_every_rotation(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    tokens = await _two_factor_session(app, "alice")
    assert _amr(tokens.access) == [PWD, OTP, MFA]
    passed = await client.get("/auth/verify?mfa=1", headers=tokens.bearer)
    assert passed.status_code == 200
    assert passed.headers["x-auth-amr"] == "pwd,otp,mfa"

    refresh = tokens.refresh
    for _ in range(2):
        rotated = await rotate(client, refresh)
        assert rotated.status_code == 200
        access = rotated.json()["access_token"]
        assert _amr(access) == [PWD, OTP, MFA]
        assert (await client.get("/auth/verify?mfa=1", headers=bearer(access))).status_code == 200
        refresh = new_refresh_token(rotated)
    # The user's other session, opened with the password alone, stays one-factor.
    assert (await client.get("/auth/verify?mfa=1", headers=alice.bearer)).status_code == 403


async def test_roles_and_mfa_are_both_required_when_both_are_asked(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    tokens = await _two_factor_session(app, "alice")
    lacking_role = await client.get("/auth/verify?mfa=1&role=ops", headers=tokens.bearer)
    assert lacking_role.status_code == 403
    assert lacking_role.json() == {"detail": "Not allowed"}


async def test_a_malformed_mfa_flag_is_a_401_never_a_pass(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    # A gateway understands only 200, 401 and 403: FastAPI's 422 must not reach it.
    for query in ("mfa=maybe", "mfa=", "mfa=%00", "mfa=" + "1" * 5000):
        response = await client.get(f"/auth/verify?{query}", headers=alice.bearer)
        assert (response.status_code, "detail" in response.json()) == (401, True), query
