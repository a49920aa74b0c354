"""TOTP enrolment and removal through the API, on every store."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.mfa.totp import code_at
from authsvc.store.models import totp_credentials
from tests.support.apps import ClientFor
from tests.support.http import PASSWORD, Tokens, login, register
from tests.support.mfa import STEP, enrol_totp, first_step, wrong_code
from tests.support.settings import FakeClock

SETUP, CONFIRM, TOTP = "/auth/mfa/totp/setup", "/auth/mfa/totp/confirm", "/auth/mfa/totp"
INVALID_CODE = (401, {"detail": "Invalid code"})


async def status(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, object]:
    response = await client.get("/auth/mfa", headers=tokens.bearer)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    return body


async def remove(client: httpx.AsyncClient, tokens: Tokens, **body: str) -> httpx.Response:
    return await client.request("DELETE", TOTP, headers=tokens.bearer, json=body)


def answer(response: httpx.Response) -> tuple[int, object]:
    return response.status_code, response.json()


async def test_setup_answers_the_secret_as_text_uri_and_qr_code(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    response = await client.post(SETUP, headers=alice.bearer)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    uri = urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/authsvc:alice")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["authsvc"]
    assert len(base64.b32decode(body["secret"])) == 20  # 160 bits
    assert body["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert await status(client, alice) == {
        "totp_enabled": False,
        "totp_pending": True,
        "recovery_codes_left": 0,
        "methods": [],
    }


async def test_confirm_enables_totp_with_ten_distinct_recovery_codes(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    enrolled = await enrol_totp(client, alice, clock.now)

    assert len(set(enrolled.recovery_codes)) == 10
    assert all(len(code) == 19 for code in enrolled.recovery_codes)  # XXXX-XXXX-XXXX-XXXX
    assert await status(client, alice) == {
        "totp_enabled": True,
        "totp_pending": False,
        "recovery_codes_left": 10,
        "methods": ["totp", "recovery_code"],
    }
    assert await first_step(client)  # the password alone no longer opens a session


async def test_a_wrong_code_does_not_confirm(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    secret = (await client.post(SETUP, headers=alice.bearer)).json()["secret"]
    wrong = wrong_code(code_at(secret, clock.now))
    for code in (wrong, "abcdef", "1234567", ""):
        response = await client.post(CONFIRM, headers=alice.bearer, json={"code": code})
        assert response.status_code in (401, 422), response.text
    assert (await status(client, alice))["totp_pending"] is True
    assert await login(client)  # still one factor


async def test_one_step_of_skew_is_allowed_two_are_not(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    secret = (await client.post(SETUP, headers=alice.bearer)).json()["secret"]
    two_back = code_at(secret, clock.now - 2 * STEP)
    assert answer(await client.post(CONFIRM, headers=alice.bearer, json={"code": two_back})) == (
        INVALID_CODE
    )
    one_back = code_at(secret, clock.now - STEP)
    response = await client.post(CONFIRM, headers=alice.bearer, json={"code": one_back})
    assert response.status_code == 200, response.text


async def test_a_new_setup_replaces_an_unconfirmed_one(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    first = (await client.post(SETUP, headers=alice.bearer)).json()["secret"]
    second = (await client.post(SETUP, headers=alice.bearer)).json()["secret"]
    assert first != second
    old = await client.post(CONFIRM, headers=alice.bearer, json={"code": code_at(first, clock.now)})
    assert answer(old) == INVALID_CODE
    new = await client.post(
        CONFIRM, headers=alice.bearer, json={"code": code_at(second, clock.now)}
    )
    assert new.status_code == 200, new.text


async def test_setup_and_confirm_are_refused_once_enabled(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    enrolled = await enrol_totp(client, alice, clock.now)
    assert answer(await client.post(SETUP, headers=alice.bearer)) == (
        409,
        {"detail": "TOTP is already enabled"},
    )
    again = await client.post(
        CONFIRM, headers=alice.bearer, json={"code": code_at(enrolled.secret, clock.now)}
    )
    assert answer(again) == (409, {"detail": "TOTP is already enabled"})


async def test_confirm_without_a_setup_is_a_409(client: httpx.AsyncClient, alice: Tokens) -> None:
    response = await client.post(CONFIRM, headers=alice.bearer, json={"code": "123456"})
    assert answer(response) == (409, {"detail": "No TOTP setup to confirm; start a new one"})


async def test_setup_needs_the_password_once_the_login_is_five_minutes_old(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    clock.advance(301)
    assert answer(await client.post(SETUP, headers=alice.bearer)) == (
        403,
        {"detail": "The current password is required"},
    )
    wrong = await client.post(SETUP, headers=alice.bearer, json={"current_password": "nope nope"})
    assert answer(wrong) == (401, {"detail": "Current password is incorrect"})
    assert wrong.headers["www-authenticate"] == "Bearer"
    right = await client.post(SETUP, headers=alice.bearer, json={"current_password": PASSWORD})
    assert right.status_code == 200, right.text


async def test_removal_with_the_password_removes_the_codes_and_the_second_step(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    await enrol_totp(client, alice, clock.now)
    assert answer(await remove(client, alice, current_password="wrong password")) == (
        401,
        {"detail": "Current password is incorrect"},
    )
    response = await remove(client, alice, current_password=PASSWORD)
    assert response.status_code == 204, response.text
    assert await status(client, alice) == {
        "totp_enabled": False,
        "totp_pending": False,
        "recovery_codes_left": 0,
        "methods": [],
    }
    assert await login(client)  # one step again
    assert answer(await remove(client, alice, current_password=PASSWORD)) == (
        404,
        {"detail": "TOTP is not enabled"},
    )


async def test_the_last_factor_is_not_removed_with_a_code_alone(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    enrolled = await enrol_totp(client, alice, clock.now)
    clock.advance(30)
    response = await remove(client, alice, code=code_at(enrolled.secret, clock.now))
    assert answer(response) == (403, {"detail": "The current password is required"})
    assert (await status(client, alice))["totp_enabled"] is True


async def test_removal_needs_a_code_or_the_password(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    await enrol_totp(client, alice, clock.now)
    assert (await remove(client, alice)).status_code == 422
    assert (await client.request("DELETE", TOTP, headers=alice.bearer)).status_code == 422


async def test_every_route_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/auth/mfa"), ("POST", SETUP), ("POST", CONFIRM)):
        response = await client.request(method, path, json={"code": "123456"})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    response = await client.request("DELETE", TOTP, json={"current_password": PASSWORD})
    assert response.status_code == 401


async def test_the_secret_is_never_stored_in_clear(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock, database_url: str
) -> None:
    enrolled = await enrol_totp(client, alice, clock.now)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(select(totp_credentials.c.sealed_secret))).scalar_one()
    finally:
        await engine.dispose()
    raw_secret = base64.b32decode(enrolled.secret)
    assert enrolled.secret not in stored
    assert enrolled.secret.lower() not in stored.lower()
    body = stored.split(".")[-1]
    assert raw_secret not in base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert stored.startswith("v1.")


async def test_wrong_codes_are_throttled_per_account(
    client_for: ClientFor, clock: FakeClock
) -> None:
    async with client_for(throttle_mfa_per_account="3/minute") as client:
        await register(client)
        tokens = await login(client)
        await client.post(SETUP, headers=tokens.bearer)
        statuses = [
            (await client.post(CONFIRM, headers=tokens.bearer, json={"code": "000000"}))
            for _ in range(4)
        ]
        assert [r.status_code for r in statuses] in ([401, 401, 401, 429],)
        assert int(statuses[-1].headers["retry-after"]) >= 1


@pytest.mark.parametrize("path", [SETUP, CONFIRM])
async def test_totp_is_off_in_production_without_a_key(client_for: ClientFor, path: str) -> None:
    async with client_for(mfa_encryption_key=None) as client:
        await register(client)
        tokens = await login(client)
        response = await client.post(path, headers=tokens.bearer, json={"code": "123456"})
        assert answer(response) == (404, {"detail": "TOTP is not configured"})
