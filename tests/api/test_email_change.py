"""Change of address through the app, with mail delivered to a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.api.test_email import EMAIL, me, register_with_email
from tests.support.http import PASSWORD, Tokens, login
from tests.support.settings import make_settings
from tests.support.smtp_sink import Sink, link_token, mail_settings, text_of

NEW = "alice@new.example.com"
WRONG = (401, {"detail": "Current password is incorrect"})


@pytest.fixture
def settings(tmp_path: Path, sink: Sink) -> Settings:
    return mail_settings(tmp_path, sink)


async def ask(
    client: httpx.AsyncClient, tokens: Tokens, email: str = NEW, password: str = PASSWORD
) -> httpx.Response:
    body = {"email": email, "current_password": password}
    return await client.post("/auth/email", json=body, headers=tokens.bearer)


async def verify(client: httpx.AsyncClient, token: str) -> int:
    return (await client.post("/auth/email/verify", json={"token": token})).status_code


async def alice_asking_for(client: httpx.AsyncClient, sink: Sink) -> tuple[Tokens, str, str]:
    """alice registered, signed in and asked to move to NEW: her tokens, the registration's
    verification token and the change's."""
    await register_with_email(client)
    tokens = await login(client)
    assert (await ask(client, tokens)).status_code == 202
    registration, change = await sink.arrived(2)
    assert (change["To"], change["Subject"]) == (NEW, "Confirm your new e-mail address")
    assert "https://app.authsvc.test/verify-email#token=" in text_of(change)
    return tokens, link_token(registration), link_token(change)


async def test_the_address_changes_once_the_new_one_is_verified_and_the_old_one_is_told(
    client: httpx.AsyncClient, sink: Sink
) -> None:
    tokens, _, change = await alice_asking_for(client, sink)
    before = await me(client, tokens.bearer)
    assert (before["email"], before["email_verified"]) == (EMAIL, False)

    assert await verify(client, change) == 204
    after = await me(client, tokens.bearer)
    assert (after["email"], after["email_verified"]) == (NEW, True)
    notice = (await sink.arrived(3))[2]
    assert (notice["To"], notice["Subject"]) == (EMAIL, "Your e-mail address was changed")
    assert NEW in text_of(notice)
    assert await verify(client, change) == 400


async def test_the_old_address_verification_link_does_not_move_the_account(
    client: httpx.AsyncClient, sink: Sink
) -> None:
    tokens, registration, change = await alice_asking_for(client, sink)
    # It still verifies the old address, which is still the account's...
    assert await verify(client, registration) == 204
    assert (await me(client, tokens.bearer))["email"] == EMAIL
    # ...and a second request ends the first change's link.
    assert (await ask(client, tokens, "other@example.com")).status_code == 202
    second = link_token((await sink.arrived(3))[2])
    assert await verify(client, change) == 400
    assert (await me(client, tokens.bearer))["email"] == EMAIL
    assert await verify(client, second) == 204
    assert (await me(client, tokens.bearer))["email"] == "other@example.com"


async def test_a_reset_link_mailed_to_the_old_address_dies_with_the_change(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    _, _, change = await alice_asking_for(client, sink)
    await client.post("/auth/password/forgot", json={"email": EMAIL})
    await app.state.services.background.idle()
    reset = link_token((await sink.arrived(3))[2])
    assert await verify(client, change) == 204
    body = {"token": reset, "new_password": "a brand new passphrase"}
    assert (await client.post("/auth/password/reset", json=body)).status_code == 400


async def test_a_wrong_password_is_a_401_mails_nothing_and_is_throttled(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    await register_with_email(client)
    tokens = await login(client)
    for _ in range(5):  # THROTTLE_PER_ACCOUNT_IP, 5/minute
        response = await ask(client, tokens, password="not the password")
        assert (response.status_code, response.json()) == WRONG
    refused = await ask(client, tokens)
    assert refused.status_code == 429
    await sink.arrived(1)
    await asyncio.sleep(0.3)
    assert [m["Subject"] for m in sink.received()] == ["Confirm your e-mail address"]


async def test_it_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/email", json={"email": NEW, "current_password": PASSWORD})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": NEW},
        {"email": "not an address", "current_password": PASSWORD},
        {"email": NEW, "current_password": ""},
        {"email": [NEW], "current_password": PASSWORD},
    ],
)
async def test_malformed_bodies_are_a_422(
    client: httpx.AsyncClient, alice: Tokens, body: object
) -> None:
    response = await client.post("/auth/email", json=body, headers=alice.bearer)
    assert response.status_code == 422


async def test_an_oversized_body_is_a_413(
    client: httpx.AsyncClient, alice: Tokens, settings: Settings
) -> None:
    body = {"email": NEW, "current_password": "x" * settings.max_body_bytes}
    response = await client.post("/auth/email", json=body, headers=alice.bearer)
    assert response.status_code == 413


class TestProductionWithoutSmtp:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return make_settings(tmp_path)

    async def test_the_route_is_404(self, client: httpx.AsyncClient, alice: Tokens) -> None:
        response = await ask(client, alice)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "E-mail is not configured"},
        )
