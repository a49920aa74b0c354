"""Password reset through the app, with mail delivered to a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from authsvc.store.records import UserChanges
from tests.api.test_email import register_with_email
from tests.support.http import PASSWORD, Tokens, assert_session_dead, login
from tests.support.settings import FakeClock, make_settings
from tests.support.smtp_sink import Sink, link_token, mail_settings, text_of

EMAIL = "alice@example.com"
NEW_PASSWORD = "a brand new passphrase"
ACCEPTED = {"detail": "If an account has this address, a reset link is on its way"}
DISABLE = UserChanges(disabled=True)
INVALID = (400, {"detail": "Invalid or expired token"})


@pytest.fixture
def settings(tmp_path: Path, sink: Sink) -> Settings:
    return mail_settings(tmp_path, sink)


async def forgot(client: httpx.AsyncClient, app: FastAPI, email: str = EMAIL) -> httpx.Response:
    """Ask for a link and wait until the work behind the answer is done."""
    response = await client.post("/auth/password/forgot", json={"email": email})
    await app.state.services.background.idle()
    return response


async def settled(app: FastAPI, sink: Sink) -> list[EmailMessage]:
    """Every mail the outbox held, once it is empty (nothing more is on its way)."""
    store = app.state.services.core.store
    for _ in range(200):
        if await store.oldest_pending_mail() is None:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # the last mail's SMTP conversation
    return sink.received()


async def reset(client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD) -> int:
    body = {"token": token, "new_password": password}
    return (await client.post("/auth/password/reset", json=body)).status_code


async def alice_with_a_reset_link(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> tuple[Tokens, str]:
    """alice registered with an address, signed in, and a reset link mailed to her."""
    await register_with_email(client)
    tokens = await login(client)
    assert (await forgot(client, app)).status_code == 202
    _, message = await sink.arrived(2)  # the verification mail, then the reset link
    assert message["Subject"] == "Reset your password"
    return tokens, link_token(message)


async def test_forgot_mail_reset_ends_every_session_and_the_new_password_logs_in(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    tokens, token = await alice_with_a_reset_link(client, app, sink)
    message = sink.received()[1]
    assert message["To"] == EMAIL
    assert "https://app.authsvc.test/reset-password#token=" in text_of(message)
    assert "expires in 30 minutes" in text_of(message)

    assert await reset(client, token) == 204
    verify = await client.get("/auth/verify", headers=tokens.bearer)
    assert verify.status_code == 401  # the access token died at once
    await assert_session_dead(client, tokens)
    old = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    fresh = await login(client, password=NEW_PASSWORD)
    profile = (await client.get("/auth/me", headers=fresh.bearer)).json()
    assert profile["email_verified"] is True  # the link proved the address

    notice = (await sink.arrived(3))[2]
    assert (notice["To"], notice["Subject"]) == (EMAIL, "Your password was changed")
    assert "#token=" not in text_of(notice)
    assert await reset(client, token, "yet another passphrase") == 400


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    await register_with_email(client)
    known = await forgot(client, app, "ALICE@example.com")  # ASCII case is ignored
    unknown = await forgot(client, app, "nobody@example.com")
    assert (known.status_code, known.json()) == (202, ACCEPTED)
    assert (unknown.status_code, unknown.json()) == (202, ACCEPTED)
    assert known.headers.keys() - {"x-request-id"} == unknown.headers.keys() - {"x-request-id"}
    assert [m["Subject"] for m in await settled(app, sink)] == [
        "Confirm your e-mail address",
        "Reset your password",
    ]


async def test_a_disabled_account_gets_no_mail_and_every_holder_of_an_address_one(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink, clock: FakeClock
) -> None:
    await register_with_email(client, "alice")
    await register_with_email(client, "bob")  # addresses are not unique
    await register_with_email(client, "carol", "carol@example.com")
    store = app.state.services.core.store
    carol = await store.get_user_by_username("carol")
    await store.update_user(carol.id, DISABLE, now=clock(), keep_holder_of="admin")
    await forgot(client, app)
    await forgot(client, app, "carol@example.com")
    resets = [m for m in await settled(app, sink) if m["Subject"] == "Reset your password"]
    assert sorted(m["To"] for m in resets) == [EMAIL, EMAIL]
    assert {text_of(m).splitlines()[0] for m in resets} == {"Hello alice,", "Hello bob,"}


async def test_an_expired_link_is_a_400_and_a_newer_one_ends_the_older(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink, clock: FakeClock, settings: Settings
) -> None:
    _, first = await alice_with_a_reset_link(client, app, sink)
    await forgot(client, app)
    second = link_token((await sink.arrived(3))[2])
    assert (await reset(client, first), await reset(client, "x" + first[1:])) == (400, 400)
    clock.advance(settings.password_reset_ttl_seconds)
    assert await reset(client, second) == 400
    await login(client)  # the password is unchanged


async def test_a_password_change_ends_an_outstanding_link(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink, clock: FakeClock
) -> None:
    tokens, token = await alice_with_a_reset_link(client, app, sink)
    clock.advance(1)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = await client.post("/auth/password", json=body, headers=tokens.bearer)
    assert changed.status_code == 204
    response = await client.post(
        "/auth/password/reset", json={"token": token, "new_password": "attacker's choice!!"}
    )
    assert (response.status_code, response.json()) == INVALID
    await login(client, password=NEW_PASSWORD)


async def test_the_policy_applies_and_a_refused_password_leaves_the_link_working(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    _, token = await alice_with_a_reset_link(client, app, sink)
    refused = await client.post("/auth/password/reset", json={"token": token, "new_password": "x"})
    assert refused.status_code == 422
    assert await reset(client, token) == 204


@pytest.mark.parametrize(
    "token", ["", "garbage", "x" * 43, "A" * 10_000, "../../etc/passwd", "a\x00b" * 10]
)
async def test_malformed_and_unknown_tokens_are_a_400(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.post(
        "/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert (response.status_code, response.json()) == INVALID


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/password/forgot", {}),
        ("/auth/password/forgot", {"email": "not an address"}),
        ("/auth/password/forgot", {"email": ["alice@example.com"]}),
        ("/auth/password/forgot", {"email": "a" * 300 + "@example.com"}),
        ("/auth/password/reset", {"token": "x" * 43}),
        ("/auth/password/reset", {"token": None, "new_password": NEW_PASSWORD}),
        ("/auth/password/reset", {"token": "x" * 43, "new_password": ""}),
    ],
)
async def test_malformed_bodies_are_a_422(
    client: httpx.AsyncClient, path: str, body: object
) -> None:
    assert (await client.post(path, json=body)).status_code == 422


@pytest.mark.parametrize("path", ["/auth/password/forgot", "/auth/password/reset"])
async def test_oversized_bodies_are_a_413(
    client: httpx.AsyncClient, path: str, settings: Settings
) -> None:
    body = {"email": "a@example.com", "token": "x" * settings.max_body_bytes}
    assert (await client.post(path, json=body)).status_code == 413


async def test_requests_are_throttled_per_client_with_429_and_per_address_silently(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    await register_with_email(client)
    # THROTTLE_FORGOT_PER_EMAIL (3/hour) for alice's address: the fourth answers alike.
    for _ in range(4):
        response = await forgot(client, app)
        assert (response.status_code, response.json()) == (202, ACCEPTED)
    # THROTTLE_FORGOT_PER_IP (5/minute) for this client: the sixth is refused.
    assert (await forgot(client, app, "nobody@example.com")).status_code == 202
    refused = await forgot(client, app, "nobody@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    subjects = [m["Subject"] for m in await settled(app, sink)]
    assert subjects.count("Reset your password") == 3


class TestProductionWithoutSmtp:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return make_settings(tmp_path)

    async def test_the_routes_are_404(self, client: httpx.AsyncClient) -> None:
        forgot = await client.post("/auth/password/forgot", json={"email": EMAIL})
        reset = await client.post(
            "/auth/password/reset", json={"token": "x" * 43, "new_password": NEW_PASSWORD}
        )
        assert [forgot.status_code, reset.status_code] == [404, 404]
        assert forgot.json() == {"detail": "E-mail is not configured"}
