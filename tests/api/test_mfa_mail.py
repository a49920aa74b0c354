"""The notice mailed when a recovery code is used, delivered to a real SMTP server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.api.test_email import register_with_email
from tests.api.test_password_reset import (
    NEW_PASSWORD,
    alice_with_a_reset_link,
    reset,
    settled,
)
from tests.support.http import Tokens, login
from tests.support.mfa import enrol_totp, first_step, second_step
from tests.support.settings import FakeClock
from tests.support.smtp_sink import Sink, link_token, mail_settings, text_of


@pytest.fixture
def settings(tmp_path: Path, sink: Sink) -> Settings:
    return mail_settings(tmp_path, sink)


async def recover(client: httpx.AsyncClient, tokens: Tokens, clock: FakeClock) -> None:
    codes = (await enrol_totp(client, tokens, clock.now)).recovery_codes
    response = await second_step(client, await first_step(client), codes[0], "recovery_code")
    assert response.status_code == 200, response.text


async def test_using_a_recovery_code_mails_the_verified_address(
    client: httpx.AsyncClient, sink: Sink, clock: FakeClock
) -> None:
    await register_with_email(client)
    (verification,) = await asyncio.to_thread(sink.wait_for, 1)
    verified = await client.post("/auth/email/verify", json={"token": link_token(verification)})
    assert verified.status_code == 204

    await recover(client, await login(client), clock)

    _, notice = await asyncio.to_thread(sink.wait_for, 2)
    assert notice["Subject"] == "A recovery code was used to sign in"
    assert notice["To"] == "alice@example.com"
    assert "9 unused recovery codes remain." in " ".join(text_of(notice).split())


async def test_an_unverified_address_gets_no_notice(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink, clock: FakeClock
) -> None:
    await register_with_email(client)
    await recover(client, await login(client), clock)
    # A notice is queued before the answer: once the outbox is empty, all has been sent.
    delivered = await settled(app, sink)
    assert [m["Subject"] for m in delivered] == ["Confirm your e-mail address"]


async def test_a_password_reset_leaves_the_second_factor_in_place(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink, clock: FakeClock
) -> None:
    tokens, link = await alice_with_a_reset_link(client, app, sink)
    await enrol_totp(client, tokens, clock.now)
    assert await reset(client, link) == 204
    # The mailbox gave a new password, not the second factor: the login still asks for it.
    assert await first_step(client, password=NEW_PASSWORD)
