"""The client side of second factors: enrolling TOTP and logging in with a code, for apps
in-process (async, the test clock) and real servers (`_sync`, the real clock).

A code is worked out from the secret as an authenticator app would. Enrolling accepts the
current time step, so the next code to log in with is the one of the following step, which
the one step of skew allows at once (`next_code`): no test waits 30 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from authsvc.mfa.totp import STEP_SECONDS, code_at
from tests.support.http import PASSWORD, Tokens, token_pair

STEP = timedelta(seconds=STEP_SECONDS)


@dataclass(frozen=True)
class Enrolled:
    secret: str
    recovery_codes: list[str]


def next_code(secret: str, now: datetime) -> str:
    """The code of the step after `now`'s: accepted within the skew, after `now`'s was used."""
    return code_at(secret, now + STEP)


def wrong_code(right: str) -> str:
    """A well-formed code that is not `right`."""
    return f"{(int(right) + 1) % 1_000_000:06d}"


def _secret(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


def _codes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    codes: list[str] = response.json()["recovery_codes"]
    assert len(codes) == 10
    return codes


async def enrol_totp(client: httpx.AsyncClient, tokens: Tokens, now: datetime) -> Enrolled:
    """Set up and confirm TOTP for a session that has just logged in (no password asked)."""
    secret = _secret(await client.post("/auth/mfa/totp/setup", headers=tokens.bearer))
    confirm = await client.post(
        "/auth/mfa/totp/confirm", headers=tokens.bearer, json={"code": code_at(secret, now)}
    )
    return Enrolled(secret, _codes(confirm))


def _challenge(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["mfa_required"] is True, body
    assert "access_token" not in body
    assert response.headers.get_list("set-cookie") == []
    return body


async def first_step(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD
) -> str:
    """Log in with the password of an account with a second factor; its mfa_token."""
    body = _challenge(
        await client.post("/auth/login", json={"username": username, "password": password})
    )
    token: str = body["mfa_token"]
    return token


async def second_step(
    client: httpx.AsyncClient, mfa_token: str, code: str, method: str = "totp"
) -> httpx.Response:
    return await client.post(
        "/auth/login/mfa", json={"mfa_token": mfa_token, "method": method, "code": code}
    )


async def login_with_totp(client: httpx.AsyncClient, code: str, username: str = "alice") -> Tokens:
    return token_pair(await second_step(client, await first_step(client, username), code))


def enrol_totp_sync(client: httpx.Client, tokens: Tokens) -> Enrolled:
    secret = _secret(client.post("/auth/mfa/totp/setup", headers=tokens.bearer))
    code = code_at(secret, datetime.now(UTC))
    confirm = client.post("/auth/mfa/totp/confirm", headers=tokens.bearer, json={"code": code})
    return Enrolled(secret, _codes(confirm))


def first_step_sync(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    body = _challenge(client.post("/auth/login", json={"username": username, "password": password}))
    token: str = body["mfa_token"]
    return token


def second_step_sync(
    client: httpx.Client, mfa_token: str, code: str, method: str = "totp"
) -> httpx.Response:
    return client.post(
        "/auth/login/mfa", json={"mfa_token": mfa_token, "method": method, "code": code}
    )
