"""A passkey as the second login step (POST /auth/login/mfa/passkey/options, then
/auth/login/mfa with `method: "passkey"`), and passkeys among the account's second factors,
on every store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.api.admin_helpers import admin_login
from tests.support.apps import ClientFor
from tests.support.authenticator import SoftCredential, tampered
from tests.support.http import PASSWORD, Tokens, get_page, login, register, token_pair
from tests.support.mfa import enrol_totp, first_step, next_code, second_step
from tests.support.passkeys import (
    PASSKEY_SETTINGS,
    login_answer,
    passkey_login,
    passkey_second_step,
    register_passkey,
    second_step_answer,
    second_step_options,
)
from tests.support.settings import FakeClock, make_settings

STEP = "/auth/login/mfa"
CHALLENGE_TTL = 60  # shorter than the mfa_token's 300 seconds
INVALID_TOKEN = (401, {"detail": "Invalid or expired mfa_token; log in again"})
NOT_ACCEPTED = (401, {"detail": "Passkey not accepted"})
BAD_CHALLENGE = (400, {"detail": "Unknown, used or expired challenge"})
MISMATCH = (
    422,
    {"detail": "totp and recovery_code take a code; passkey takes challenge_id and credential"},
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # Enough code checks for the refusals below; the throttle itself is tested on its own.
    return make_settings(
        tmp_path,
        database_url=database_url,
        throttle_mfa_per_account="100/minute",
        webauthn_challenge_ttl_seconds=CHALLENGE_TTL,
        **PASSKEY_SETTINGS,
    )


def answer(response: httpx.Response) -> tuple[int, object]:
    return response.status_code, response.json()


@pytest.fixture
async def passkey(client: httpx.AsyncClient, alice: Tokens) -> SoftCredential:
    credential, _ = await register_passkey(client, alice)
    return credential


async def test_the_password_and_a_passkey_open_a_pwd_hwk_mfa_session(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential
) -> None:
    login_response = await client.post(
        "/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert login_response.json()["methods"] == ["passkey"]
    mfa_token = login_response.json()["mfa_token"]

    options = (await second_step_options(client, mfa_token)).json()
    assert options["publicKey"]["allowCredentials"] == [
        {"id": passkey.id, "type": "public-key", "transports": ["internal", "hybrid"]}
    ]
    assert options["publicKey"]["userVerification"] == "required"

    tokens = token_pair(await passkey_second_step(client, mfa_token, passkey))
    verified = await client.get("/auth/verify", headers=tokens.bearer, params={"mfa": "1"})
    assert verified.status_code == 200
    assert verified.headers["x-auth-amr"] == "pwd,hwk,mfa"
    events = (await get_page(client, "/auth/activity", alice))["events"]
    completed = next(e for e in events if e["kind"] == "mfa_login_completed")
    assert completed["details"] == {"reason": "passkey"}
    listed = (await get_page(client, "/auth/passkeys", alice))["passkeys"]
    assert listed[0]["last_used_at"] is not None


async def test_the_passkey_login_alone_still_opens_a_session(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    tokens = token_pair(await passkey_login(client, passkey))
    verified = await client.get("/auth/verify", headers=tokens.bearer, params={"mfa": "1"})
    assert verified.headers["x-auth-amr"] == "hwk,mfa"


async def test_totp_and_passkeys_are_offered_together(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential, clock: FakeClock
) -> None:
    enrolled = await enrol_totp(client, alice, clock.now)
    first = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert first.json()["methods"] == ["totp", "recovery_code", "passkey"]
    assert token_pair(await passkey_second_step(client, await first_step(client), passkey))
    code = next_code(enrolled.secret, clock.now)
    assert token_pair(await second_step(client, await first_step(client), code))


async def test_another_accounts_passkey_is_refused_and_left_untouched(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    await register(client, "bob")
    bob = await login(client, "bob")
    bobs, _ = await register_passkey(client, bob)

    response = await passkey_second_step(client, await first_step(client), bobs)

    assert answer(response) == NOT_ACCEPTED
    assert (await get_page(client, "/auth/passkeys", bob))["passkeys"][0]["last_used_at"] is None
    # Bob's own second step with it still works (its counter did not move).
    assert token_pair(await passkey_second_step(client, await first_step(client, "bob"), bobs))


async def test_challenges_of_the_discoverable_login_and_of_the_second_step_do_not_cross(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    mfa_token = await first_step(client)
    discoverable = await login_answer(client, passkey)
    crossed = {"mfa_token": mfa_token, "method": "passkey", **discoverable}
    assert answer(await client.post(STEP, json=crossed)) == BAD_CHALLENGE

    second = await second_step_answer(client, mfa_token, passkey)
    body = {"challenge_id": second["challenge_id"], "credential": second["credential"]}
    assert answer(await client.post("/auth/passkeys/login/verify", json=body)) == BAD_CHALLENGE
    # Neither refusal counted against the mfa_token.
    assert token_pair(await passkey_second_step(client, mfa_token, passkey))


async def test_a_second_step_challenge_is_answered_once_and_expires(
    client: httpx.AsyncClient, passkey: SoftCredential, clock: FakeClock
) -> None:
    body = await second_step_answer(client, await first_step(client), passkey)
    assert token_pair(await client.post(STEP, json=body))
    replay = {**body, "mfa_token": await first_step(client)}
    assert answer(await client.post(STEP, json=replay)) == BAD_CHALLENGE

    mfa_token = await first_step(client)
    late = await second_step_answer(client, mfa_token, passkey)
    clock.advance(CHALLENGE_TTL + 1)  # past the challenge's lifetime, within the mfa_token's
    assert answer(await client.post(STEP, json=late)) == BAD_CHALLENGE
    assert token_pair(await passkey_second_step(client, mfa_token, passkey))


async def test_another_accounts_challenge_is_refused(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    await register(client, "bob")
    await register_passkey(client, await login(client, "bob"))
    bobs_challenge = await second_step_answer(client, await first_step(client, "bob"), passkey)
    body = {**bobs_challenge, "mfa_token": await first_step(client)}
    assert answer(await client.post(STEP, json=body)) == BAD_CHALLENGE


async def test_an_mfa_token_works_once(client: httpx.AsyncClient, passkey: SoftCredential) -> None:
    mfa_token = await first_step(client)
    spare = await second_step_answer(client, mfa_token, passkey)
    assert token_pair(await passkey_second_step(client, mfa_token, passkey))
    assert answer(await client.post(STEP, json=spare)) == INVALID_TOKEN
    assert answer(await second_step_options(client, mfa_token)) == INVALID_TOKEN


async def test_an_mfa_token_dies_after_its_lifetime(
    client: httpx.AsyncClient, passkey: SoftCredential, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    body = await second_step_answer(client, mfa_token, passkey)
    clock.advance(301)
    assert answer(await client.post(STEP, json=body)) == INVALID_TOKEN
    assert answer(await second_step_options(client, mfa_token)) == INVALID_TOKEN


async def test_the_fifth_refused_assertion_ends_the_mfa_token(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential
) -> None:
    mfa_token = await first_step(client)
    for _ in range(5):
        body = await second_step_answer(client, mfa_token, passkey)
        forged = {**body, "credential": tampered(body["credential"])}
        assert answer(await client.post(STEP, json=forged)) == NOT_ACCEPTED
    assert answer(await second_step_options(client, mfa_token)) == INVALID_TOKEN
    events = (await get_page(client, "/auth/activity", alice, limit=100))["events"]
    failed = [e["details"] for e in events if e["kind"] == "mfa_challenge_failed"]
    assert failed == [{"reason": "passkey"}] * 5
    assert "passkey_login_failed" in [e["kind"] for e in events]


async def test_a_password_change_ends_the_mfa_token(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential
) -> None:
    mfa_token = await first_step(client)
    body = await second_step_answer(client, mfa_token, passkey)
    changed = await client.post(
        "/auth/password",
        headers=alice.bearer,
        json={"current_password": PASSWORD, "new_password": "another fine passphrase"},
    )
    assert changed.status_code == 204
    assert answer(await client.post(STEP, json=body)) == INVALID_TOKEN


async def test_an_account_without_passkeys_gets_no_passkey_challenge(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    await enrol_totp(client, alice, clock.now)
    response = await second_step_options(client, await first_step(client))
    assert answer(response) == (422, {"detail": "This method is not available for the account"})


@pytest.mark.parametrize(
    "fields",
    [
        {"method": "passkey", "code": "123456"},
        {"method": "totp", "challenge_id": "x", "credential": {}},
        {"method": "recovery_code", "challenge_id": "x", "credential": {}},
    ],
    ids=["code-for-passkey", "passkey-for-totp", "passkey-for-recovery-code"],
)
async def test_fields_that_do_not_fit_the_method_are_a_422(
    client: httpx.AsyncClient, passkey: SoftCredential, fields: dict[str, Any]
) -> None:
    mfa_token = await first_step(client)
    response = await client.post(STEP, json={"mfa_token": mfa_token, **fields})
    assert answer(response) == MISMATCH
    assert token_pair(await passkey_second_step(client, mfa_token, passkey))  # not counted


@pytest.mark.parametrize(
    "fields",
    [
        {"method": "passkey"},
        {"method": "passkey", "challenge_id": "x"},
        {"method": "passkey", "credential": {}},
        {"method": "passkey", "code": "1", "challenge_id": "x", "credential": {}},
        {"method": "passkey", "challenge_id": "x" * 65, "credential": {}},
        {"method": "passkey", "challenge_id": "x", "credential": "not an object"},
    ],
)
async def test_malformed_bodies_are_a_422(
    client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    response = await client.post(STEP, json={"mfa_token": "x", **fields})
    assert response.status_code == 422
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "credential",
    [{}, {"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "!"}}],
    ids=["empty", "not-base64url"],
)
async def test_a_malformed_credential_is_a_400(
    client: httpx.AsyncClient, passkey: SoftCredential, credential: dict[str, Any]
) -> None:
    mfa_token = await first_step(client)
    body = await second_step_answer(client, mfa_token, passkey)
    response = await client.post(STEP, json={**body, "credential": credential})
    assert answer(response) == (400, {"detail": "Malformed passkey credential"})
    unknown = await client.post(STEP, json={**body, "challenge_id": "\x00nul"})
    assert answer(unknown) == BAD_CHALLENGE


async def test_the_options_refuse_pages_of_other_sites(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    response = await client.post(
        "/auth/login/mfa/passkey/options",
        json={"mfa_token": await first_step(client)},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


async def test_an_admin_reset_removes_passkeys_too(
    client: httpx.AsyncClient, app: FastAPI, alice: Tokens, passkey: SoftCredential
) -> None:
    admin = await admin_login(app, client)
    alice_id = (await client.get("/auth/me", headers=alice.bearer)).json()["id"]

    response = await client.delete(f"/admin/users/{alice_id}/mfa", headers=admin.bearer)

    assert response.status_code == 204
    assert (await get_page(client, "/auth/passkeys", alice))["passkeys"] == []
    assert await login(client)  # the password alone again
    audit = await get_page(client, "/admin/audit", admin, kind="mfa_reset_by_admin")
    assert [e["details"] for e in audit["events"]] == [{"count": 1}]


async def test_a_totp_code_removes_totp_while_a_passkey_remains(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential, clock: FakeClock
) -> None:
    enrolled = await enrol_totp(client, alice, clock.now)
    code = next_code(enrolled.secret, clock.now)
    response = await client.request(
        "DELETE", "/auth/mfa/totp", headers=alice.bearer, json={"code": code}
    )
    assert response.status_code == 204
    status = (await client.get("/auth/mfa", headers=alice.bearer)).json()
    assert (status["totp_enabled"], status["methods"]) == (False, ["passkey"])


async def test_passkey_answers_count_against_the_code_throttle(
    client_for: ClientFor, clock: FakeClock
) -> None:
    async with client_for(**PASSKEY_SETTINGS, throttle_mfa_per_account="1/minute") as client:
        await register(client)
        credential, _ = await register_passkey(client, await login(client))
        mfa_token = await first_step(client)
        body = await second_step_answer(client, mfa_token, credential)
        forged = {**body, "credential": tampered(body["credential"])}
        assert answer(await client.post(STEP, json=forged)) == NOT_ACCEPTED
        refused = await passkey_second_step(client, mfa_token, credential)
    assert refused.status_code == 429
