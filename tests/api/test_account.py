"""Registration, the current user, password changes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from jose import jwt

from authsvc.settings import Settings
from authsvc.tokens import TokenService
from tests.support.apps import app_client
from tests.support.http import (
    PASSWORD,
    Tokens,
    assert_session_dead,
    login,
    register,
    rotate,
)
from tests.support.settings import ACCESS_SECRET, REFRESH_SECRET, FakeClock, make_settings

NEW_PASSWORD = "a different long passphrase"

# register


async def test_register_creates_a_user_without_exposing_the_hash(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/register",
        json={"username": "Alice", "password": PASSWORD, "email": "alice@example.com"},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "email", "email_verified", "created_at", "roles"}
    assert body["email_verified"] is False
    assert body["roles"] == []
    assert body["username"] == "alice"  # stored in canonical form
    assert body["email"] == "alice@example.com"
    assert PASSWORD not in response.text
    assert "argon2" not in response.text


@pytest.mark.parametrize("variant", ["alice", "ALICE", "Ａｌｉｃｅ"])  # noqa: RUF001 - full-width on purpose
async def test_register_refuses_taken_names_and_look_alikes(
    client: httpx.AsyncClient, variant: str
) -> None:
    await register(client, "alice")
    response = await client.post("/auth/register", json={"username": variant, "password": PASSWORD})
    assert response.status_code == 409
    assert response.json() == {"detail": "Username is already taken"}


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 8"),
        ("password", "too common"),
        ("x" * 129, "at most 128"),
        ("alice123", "too common"),
    ],
)
async def test_register_applies_the_password_policy(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    response = await client.post("/auth/register", json={"username": "alice", "password": password})
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert password not in response.text


async def test_register_refuses_a_password_equal_to_the_username(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/register", json={"username": "longusername", "password": "LongUserName"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"password": PASSWORD},
        {"username": "al", "password": PASSWORD},
        {"username": "alice smith", "password": PASSWORD},
        {"username": "<script>", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "email": "not-an-email"},
        {"username": 5, "password": PASSWORD},
        {"username": "alice", "password": "p" * 2000},
    ],
)
async def test_register_rejects_malformed_input(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


async def test_registration_can_be_switched_off(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path, registration_enabled=False)
    async with app_client(settings, clock=clock, headers=None) as c:
        response = await c.post("/auth/register", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json() == {"detail": "Registration is closed"}


# me


async def test_me_returns_the_current_user(client: httpx.AsyncClient, alice: Tokens) -> None:
    response = await client.get("/auth/me", headers=alice.bearer)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged_tokens(settings: Settings, valid: str) -> dict[str, str]:
    claims = jwt.get_unverified_claims(valid)
    header = {"alg": "HS256", "typ": "at+jwt"}
    tokens = TokenService(settings)
    wrong_issuer = dict(claims, iss="someone-else")
    wrong_audience = dict(claims, aud="another-api")
    return {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}.",
        "alg-None": f"{_b64({'alg': 'None', 'typ': 'at+jwt'})}.{_b64(claims)}.",
        "wrong-secret": jwt.encode(claims, "x" * 40, algorithm="HS256", headers=header),
        "refresh-secret": jwt.encode(claims, REFRESH_SECRET, algorithm="HS256", headers=header),
        "hs512-swap": jwt.encode(claims, ACCESS_SECRET, algorithm="HS512", headers=header),
        "wrong-iss": jwt.encode(wrong_issuer, ACCESS_SECRET, algorithm="HS256", headers=header),
        "wrong-aud": jwt.encode(wrong_audience, ACCESS_SECRET, algorithm="HS256", headers=header),
        "stripped-signature": valid.rsplit(".", 1)[0] + ".",
        "expired": tokens.issue_access(
            user_id=claims["sub"],
            username=claims["username"],
            session_id=claims["sid"],
            now=issued_at(claims) - timedelta(hours=2),
            expires_at=issued_at(claims) - timedelta(hours=1),
        ).token,
        "garbage": "not-a-jwt",
    }


def issued_at(claims: dict[str, object]) -> datetime:
    issued = claims["iat"]
    assert isinstance(issued, int)
    return datetime.fromtimestamp(issued, UTC)


async def test_me_rejects_forged_and_expired_tokens(
    client: httpx.AsyncClient, alice: Tokens, settings: Settings
) -> None:
    for name, token in _forged_tokens(settings, alice.access).items():
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer", name
    # The genuine token still works, so the rejections above are about the forgeries.
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6cGFzcw==", "Token abc", "Bearer " + "a" * 9000],
)
async def test_me_requires_a_bearer_token(
    client: httpx.AsyncClient, alice: Tokens, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_refresh_token_is_not_a_bearer_token(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {alice.refresh}"})
    assert response.status_code == 401


# password change


async def change_password(
    client: httpx.AsyncClient, tokens: Tokens, current: str, new: str
) -> httpx.Response:
    body = {"current_password": current, "new_password": new}
    return await client.post("/auth/password", headers=tokens.bearer, json=body)


async def test_password_change_ends_every_other_session(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    phone = await login(client)

    response = await change_password(client, alice, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 204
    await assert_session_dead(client, phone)
    # The session that changed the password carries on.
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200
    assert (await rotate(client, alice.refresh)).status_code == 200
    # Only the new password logs in now.
    old = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    await login(client, password=NEW_PASSWORD)


async def test_password_change_needs_the_current_password(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    phone = await login(client)
    response = await change_password(client, alice, "not my password", NEW_PASSWORD)
    assert response.status_code == 401
    assert response.json() == {"detail": "Current password is incorrect"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/auth/me", headers=phone.bearer)).status_code == 200
    await login(client)


async def test_password_change_applies_the_policy(client: httpx.AsyncClient, alice: Tokens) -> None:
    response = await change_password(client, alice, PASSWORD, "123456789")
    assert response.status_code == 422
    assert "too common" in response.json()["detail"]
    await login(client)


async def test_password_change_requires_a_bearer_token(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    response = await client.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 401
    await login(client)
