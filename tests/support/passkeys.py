"""Passkey ceremonies against the service, with the software authenticator (authenticator.py):
settings that switch passkeys on, and the options-then-answer steps, async (in-process apps)
and blocking (real servers, the `_sync` names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from authsvc.settings import Settings
from tests.support import authenticator
from tests.support.authenticator import ORIGIN, RP_ID, SoftCredential
from tests.support.http import Tokens
from tests.support.settings import make_settings

# Passkeys on, for pages on the test base URL's origin (PUBLIC_URL is trusted already).
PASSKEY_SETTINGS: dict[str, object] = {"webauthn_rp_id": RP_ID, "public_url": ORIGIN}
PASSKEY_ENV = {"WEBAUTHN_RP_ID": RP_ID, "PUBLIC_URL": ORIGIN}


@pytest.fixture(name="settings")
def passkey_api_settings(tmp_path: Path, database_url: str) -> Settings:
    """The API tests' `settings` (every store), with passkeys on: import it into a module."""
    return make_settings(tmp_path, database_url=database_url, **PASSKEY_SETTINGS)


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def registration_options(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    """`{challenge_id, publicKey}` for a new passkey of `tokens`' user."""
    return _ok(await client.post("/auth/passkeys/register/options", headers=tokens.bearer))


async def register_passkey(
    client: httpx.AsyncClient, tokens: Tokens, *, name: str | None = None, **create: Any
) -> tuple[SoftCredential, dict[str, Any]]:
    """A new passkey, registered: the authenticator's credential and the service's record."""
    options = await registration_options(client, tokens)
    credential, answer = authenticator.create(options["publicKey"], **create)
    body: dict[str, Any] = {"challenge_id": options["challenge_id"], "credential": answer}
    if name is not None:
        body["name"] = name
    response = await client.post("/auth/passkeys/register/verify", json=body, headers=tokens.bearer)
    return credential, _ok(response, 201)


async def login_options(client: httpx.AsyncClient) -> dict[str, Any]:
    return _ok(await client.post("/auth/passkeys/login/options"))


async def login_answer(
    client: httpx.AsyncClient, credential: SoftCredential, **get: Any
) -> dict[str, Any]:
    """A login request body: a fresh challenge answered by `credential`."""
    options = await login_options(client)
    answer = authenticator.get(options["publicKey"], credential, **get)
    return {"challenge_id": options["challenge_id"], "credential": answer}


async def passkey_login(
    client: httpx.AsyncClient, credential: SoftCredential, **get: Any
) -> httpx.Response:
    body = await login_answer(client, credential, **get)
    return await client.post("/auth/passkeys/login/verify", json=body)


def register_passkey_sync(client: httpx.Client, tokens: Tokens) -> SoftCredential:
    options = _ok(client.post("/auth/passkeys/register/options", headers=tokens.bearer))
    credential, answer = authenticator.create(options["publicKey"])
    body = {"challenge_id": options["challenge_id"], "credential": answer}
    _ok(client.post("/auth/passkeys/register/verify", json=body, headers=tokens.bearer), 201)
    return credential


def login_answer_sync(client: httpx.Client, credential: SoftCredential) -> dict[str, Any]:
    options = _ok(client.post("/auth/passkeys/login/options"))
    answer = authenticator.get(options["publicKey"], credential)
    return {"challenge_id": options["challenge_id"], "credential": answer}


async def second_step_options(client: httpx.AsyncClient, mfa_token: str) -> httpx.Response:
    return await client.post("/auth/login/mfa/passkey/options", json={"mfa_token": mfa_token})


async def second_step_answer(
    client: httpx.AsyncClient, mfa_token: str, credential: SoftCredential, **get: Any
) -> dict[str, Any]:
    """A /auth/login/mfa body: a fresh second-step challenge answered by `credential`."""
    options = _ok(await second_step_options(client, mfa_token))
    answer = authenticator.get(options["publicKey"], credential, **get)
    return {
        "mfa_token": mfa_token,
        "method": "passkey",
        "challenge_id": options["challenge_id"],
        "credential": answer,
    }


async def passkey_second_step(
    client: httpx.AsyncClient, mfa_token: str, credential: SoftCredential, **get: Any
) -> httpx.Response:
    body = await second_step_answer(client, mfa_token, credential, **get)
    return await client.post("/auth/login/mfa", json=body)


def second_step_answer_sync(
    client: httpx.Client, mfa_token: str, credential: SoftCredential
) -> dict[str, Any]:
    path = "/auth/login/mfa/passkey/options"
    options = _ok(client.post(path, json={"mfa_token": mfa_token}))
    answer = authenticator.get(options["publicKey"], credential)
    return {
        "mfa_token": mfa_token,
        "method": "passkey",
        "challenge_id": options["challenge_id"],
        "credential": answer,
    }
