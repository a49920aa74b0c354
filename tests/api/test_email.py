"""E-mail verification through the app, with mail delivered to a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.support.http import PASSWORD, login, register
from tests.support.scrape import Scrape
from tests.support.settings import FakeClock, make_settings
from tests.support.smtp_sink import Sink, link_token, mail_settings, text_of

EMAIL = "alice@example.com"


@pytest.fixture
def settings(tmp_path: Path, sink: Sink) -> Settings:
    return mail_settings(tmp_path, sink)


async def register_with_email(
    client: httpx.AsyncClient, username: str = "alice", email: str = EMAIL
) -> httpx.Response:
    body = {"username": username, "password": PASSWORD, "email": email}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return response


async def mails(sink: Sink, count: int) -> list[str]:
    """The tokens of the first `count` mails, waiting (a bounded time) for them to arrive."""
    received = await sink.arrived(count)
    return [link_token(message) for message in received]


async def me(client: httpx.AsyncClient, bearer: dict[str, str]) -> dict[str, object]:
    response = await client.get("/auth/me", headers=bearer)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_registration_mails_a_link_whose_token_verifies_the_address_once(
    client: httpx.AsyncClient, sink: Sink
) -> None:
    await register_with_email(client)
    [message] = await sink.arrived(1)
    assert message["To"] == EMAIL
    assert message["Subject"] == "Confirm your e-mail address"
    assert "https://app.authsvc.test/verify-email#token=" in text_of(message)
    html = message.get_body(preferencelist=("html",))
    assert html is not None and 'href="https://app.authsvc.test/verify-email#token=' in (
        html.get_content()
    )
    tokens = await login(client)
    assert (await me(client, tokens.bearer))["email_verified"] is False

    token = link_token(message)
    assert (await client.post("/auth/email/verify", json={"token": token})).status_code == 204
    assert (await me(client, tokens.bearer))["email_verified"] is True
    replayed = await client.post("/auth/email/verify", json={"token": token})
    assert (replayed.status_code, replayed.json()) == (400, {"detail": "Invalid or expired token"})


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "x" * 43, "A" * 100_00, "../../etc/passwd", "tok\u00e9n" * 10, "a\x00b" * 10],
)
async def test_malformed_unknown_and_oversized_tokens_are_a_400(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.post("/auth/email/verify", json={"token": token})
    assert (response.status_code, response.json()) == (400, {"detail": "Invalid or expired token"})


@pytest.mark.parametrize("body", [{}, {"token": 5}, {"token": None}, [], "token"])
async def test_a_body_without_a_token_string_is_a_422(
    client: httpx.AsyncClient, body: object
) -> None:
    response = await client.post("/auth/email/verify", json=body)
    assert response.status_code == 422


async def test_an_expired_link_is_a_400(
    client: httpx.AsyncClient, sink: Sink, clock: FakeClock, settings: Settings
) -> None:
    await register_with_email(client)
    [token] = await mails(sink, 1)
    clock.advance(settings.email_token_ttl_seconds)
    response = await client.post("/auth/email/verify", json={"token": token})
    assert response.status_code == 400


async def test_a_resend_mails_a_new_link_and_ends_the_old_one(
    client: httpx.AsyncClient, sink: Sink
) -> None:
    await register_with_email(client)
    [old] = await mails(sink, 1)
    tokens = await login(client)
    resent = await client.post("/auth/email/verify/resend", headers=tokens.bearer)
    assert resent.status_code == 202
    _, new = await mails(sink, 2)
    assert new != old
    assert (await client.post("/auth/email/verify", json={"token": old})).status_code == 400
    assert (await client.post("/auth/email/verify", json={"token": new})).status_code == 204
    again = await client.post("/auth/email/verify/resend", headers=tokens.bearer)
    assert (again.status_code, again.json()) == (409, {"detail": "E-mail address already verified"})


async def test_resends_are_throttled_per_account(client: httpx.AsyncClient, sink: Sink) -> None:
    await register_with_email(client)
    tokens = await login(client)
    answers = [
        (await client.post("/auth/email/verify/resend", headers=tokens.bearer)).status_code
        for _ in range(3)
    ]
    assert answers == [202, 202, 202]
    refused = await client.post("/auth/email/verify/resend", headers=tokens.bearer)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    await mails(sink, 4)  # the registration's and three resends
    await asyncio.sleep(0.5)
    assert len(sink.received()) == 4


async def test_resend_needs_a_bearer_token_and_an_address(
    client: httpx.AsyncClient, alice: object
) -> None:
    assert (await client.post("/auth/email/verify/resend")).status_code == 401
    tokens = await login(client)  # alice registered without an address
    response = await client.post("/auth/email/verify/resend", headers=tokens.bearer)
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "The account has no e-mail address"},
    )


async def test_mail_metrics_count_queued_and_sent_and_show_the_oldest_waiting(
    client: httpx.AsyncClient, sink: Sink
) -> None:
    await register_with_email(client)
    await mails(sink, 1)
    for _ in range(100):  # the sender counts the mail once the server took it
        scrape = Scrape.parse((await client.get("/metrics")).text)
        if scrape.value("authsvc_mails_sent_total", kind="verify_email") == 1:
            break
        await asyncio.sleep(0.05)
    assert scrape.value("authsvc_mails_queued_total", kind="verify_email") == 1
    assert scrape.value("authsvc_mails_sent_total", kind="verify_email") == 1
    assert scrape.types["authsvc_mail_oldest_pending_age_seconds"] == "gauge"
    assert scrape.value("authsvc_mail_oldest_pending_age_seconds") == 0


class TestRequired:
    @pytest.fixture
    def settings(self, tmp_path: Path, sink: Sink) -> Settings:
        return mail_settings(tmp_path, sink, email_verification="required")

    async def test_an_unverified_address_refuses_the_login_after_the_password_check(
        self, client: httpx.AsyncClient, sink: Sink
    ) -> None:
        await register_with_email(client)
        body = {"username": "alice", "password": PASSWORD}
        wrong = await client.post("/auth/login", json={**body, "password": "wrong password!"})
        assert wrong.status_code == 401
        refused = await client.post("/auth/login", json=body)
        assert (refused.status_code, refused.json()) == (
            403,
            {"detail": "E-mail address not verified"},
        )
        assert "set-cookie" not in refused.headers
        # The refusal mailed a new link, which ended the registration's.
        first, second = await mails(sink, 2)
        assert (await client.post("/auth/email/verify", json={"token": first})).status_code == 400
        assert (await client.post("/auth/email/verify", json={"token": second})).status_code == 204
        await login(client)

    async def test_refused_logins_mail_new_links_within_the_resend_budget(
        self, client: httpx.AsyncClient, sink: Sink
    ) -> None:
        await register_with_email(client)
        body = {"username": "alice", "password": PASSWORD}
        for _ in range(5):
            assert (await client.post("/auth/login", json=body)).status_code == 403
        await mails(sink, 4)  # the registration's, then three: THROTTLE_EMAIL_RESEND
        await asyncio.sleep(0.5)
        assert len(sink.received()) == 4

    async def test_an_account_without_an_address_logs_in(self, client: httpx.AsyncClient) -> None:
        await register(client)
        await login(client)


class TestOff:
    @pytest.fixture
    def settings(self, tmp_path: Path, sink: Sink) -> Settings:
        return mail_settings(tmp_path, sink, email_verification="off")

    async def test_no_mail_is_queued_and_the_routes_are_404(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        await register_with_email(client)
        assert await app.state.services.core.store.oldest_pending_mail() is None
        response = await client.post("/auth/email/verify", json={"token": "x" * 43})
        assert response.status_code == 404
        tokens = await login(client)
        resend = await client.post("/auth/email/verify/resend", headers=tokens.bearer)
        assert resend.status_code == 404


class TestProductionWithoutSmtp:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return make_settings(tmp_path)

    async def test_registration_works_without_mail_and_the_routes_are_404(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        await register_with_email(client)
        assert await app.state.services.core.store.oldest_pending_mail() is None
        response = await client.post("/auth/email/verify", json={"token": "x" * 43})
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "E-mail is not configured"},
        )
        assert "retry-after" not in response.headers
        tokens = await login(client)
        resend = await client.post("/auth/email/verify/resend", headers=tokens.bearer)
        assert resend.status_code == 404


class TestConsole:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return make_settings(tmp_path, environment="development", mail_poll_interval_seconds=0.1)

    async def test_development_without_smtp_writes_the_mail_to_the_log(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="authsvc.mail")
        await register_with_email(client)
        for _ in range(100):
            printed = [
                r.getMessage() for r in caplog.records if "DEVELOPMENT MAIL" in r.getMessage()
            ]
            if printed:
                break
            await asyncio.sleep(0.05)
        [line] = printed
        assert EMAIL in line
        assert "http://localhost:5173/verify-email#token=" in line
