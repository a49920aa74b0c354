"""Logging in with a passkey (POST /auth/passkeys/login/options and /login/verify)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from authsvc.settings import Settings
from tests.api.admin_helpers import admin_login, grant
from tests.support import authenticator
from tests.support.apps import ClientFor
from tests.support.authenticator import RP_ID, SoftCredential, b64, tampered
from tests.support.http import COOKIE, Tokens, bearer, get_page, login, only_set_cookie, register
from tests.support.logs import security_events
from tests.support.passkeys import (
    PASSKEY_SETTINGS,
    login_answer,
    login_options,
    passkey_api_settings,  # noqa: F401 - the `settings` fixture of this module
    passkey_login,
    register_passkey,
    registration_options,
)
from tests.support.settings import FakeClock

VERIFY = "/auth/passkeys/login/verify"


@pytest.fixture
async def passkey(client: httpx.AsyncClient, alice: Tokens) -> SoftCredential:
    credential, _ = await register_passkey(client, alice)
    return credential


def _refused(response: httpx.Response, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"detail": detail}
    assert "set-cookie" not in response.headers


async def test_login_options_name_no_credential_and_require_user_verification(
    client: httpx.AsyncClient,
) -> None:
    options = await login_options(client)

    assert options["challenge_id"]
    assert options["publicKey"]["rpId"] == RP_ID
    assert options["publicKey"]["allowCredentials"] == []
    assert options["publicKey"]["userVerification"] == "required"


async def test_a_passkey_login_opens_a_two_factor_session_with_the_usual_answer(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    response = await passkey_login(client, passkey)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert jwt.get_unverified_claims(body["access_token"])["amr"] == ["hwk", "mfa"]
    assert only_set_cookie(response).name == COOKIE
    verify = await client.get(
        "/auth/verify", params={"mfa": "1"}, headers=bearer(body["access_token"])
    )
    assert verify.status_code == 200
    assert verify.headers["x-auth-username"] == "alice"


async def test_a_passkey_login_is_on_the_users_activity_and_moves_the_counter(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    tokens = Tokens(
        access=(response := await passkey_login(client, passkey)).json()["access_token"],
        refresh=only_set_cookie(response).value,
    )

    kinds = [e["kind"] for e in (await get_page(client, "/auth/activity", tokens))["events"]]
    assert {"passkey_login", "login_succeeded"} <= set(kinds)
    listed = (await get_page(client, "/auth/passkeys", tokens))["passkeys"]
    assert listed[0]["last_used_at"] is not None


async def test_an_authenticator_without_a_counter_logs_in_again_and_again(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    credential, _ = await register_passkey(client, alice, counts=False)
    for _ in range(3):
        assert (await passkey_login(client, credential)).status_code == 200


async def test_a_login_challenge_is_answered_once(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    body = await login_answer(client, passkey)
    assert (await client.post(VERIFY, json=body)).status_code == 200

    replayed = await client.post(VERIFY, json=body)

    _refused(replayed, 400, "Unknown, used or expired challenge")


async def test_an_expired_login_challenge_is_refused(
    client: httpx.AsyncClient, passkey: SoftCredential, clock: FakeClock, settings: Settings
) -> None:
    body = await login_answer(client, passkey)
    clock.advance(settings.webauthn_challenge_ttl_seconds + 1)

    _refused(await client.post(VERIFY, json=body), 400, "Unknown, used or expired challenge")


async def test_a_registration_challenge_does_not_log_in(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential
) -> None:
    options = await registration_options(client, alice)
    answer = authenticator.get(options["publicKey"], passkey)

    response = await client.post(
        VERIFY, json={"challenge_id": options["challenge_id"], "credential": answer}
    )

    _refused(response, 400, "Unknown, used or expired challenge")


async def test_an_answer_to_another_challenge_under_a_valid_id_is_refused(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    signed = await login_answer(client, passkey)
    other = await login_options(client)

    response = await client.post(VERIFY, json={**signed, "challenge_id": other["challenge_id"]})

    _refused(response, 400, "Unknown, used or expired challenge")


async def test_an_unknown_credential_is_refused(client: httpx.AsyncClient) -> None:
    stranger = SoftCredential.generate(RP_ID, b"nobody")

    response = await passkey_login(client, stranger)

    _refused(response, 401, "Passkey not accepted")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "get",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"uv": False},
        {"user_handle": b"someone-else"},
    ],
    ids=["foreign-origin", "foreign-rp-id", "no-user-verification", "other-user-handle"],
)
async def test_an_assertion_failing_verification_is_refused(
    client: httpx.AsyncClient, passkey: SoftCredential, get: dict[str, Any]
) -> None:
    _refused(await passkey_login(client, passkey, **get), 401, "Passkey not accepted")


async def test_a_tampered_signature_is_refused_and_logged(
    client: httpx.AsyncClient, passkey: SoftCredential, caplog: pytest.LogCaptureFixture
) -> None:
    body = await login_answer(client, passkey)

    response = await client.post(VERIFY, json={**body, "credential": tampered(body["credential"])})

    _refused(response, 401, "Passkey not accepted")
    failures = [e for e in security_events(caplog) if e["event"] == "passkey_login_failed"]
    assert failures and failures[-1]["reason"] == "not_verified"


async def test_a_cloned_authenticator_is_refused_and_logged_as_a_security_event(
    client: httpx.AsyncClient, passkey: SoftCredential, caplog: pytest.LogCaptureFixture
) -> None:
    clone = passkey.clone()
    assert (await passkey_login(client, passkey)).status_code == 200
    assert (await passkey_login(client, passkey)).status_code == 200

    # The clone's counter trails the original's: a copy of the key is in use.
    response = await passkey_login(client, clone)

    _refused(response, 401, "Passkey not accepted")
    regressions = [
        e for e in security_events(caplog) if e["event"] == "passkey_sign_count_regressed"
    ]
    assert len(regressions) == 1
    assert regressions[0]["user_id"]
    # The original keeps working: its counter is still ahead.
    assert (await passkey_login(client, passkey)).status_code == 200


@pytest.mark.parametrize(
    ("method", "body", "status", "detail"),
    [
        ("PATCH", {"disabled": True}, 403, "Account disabled"),
        ("DELETE", None, 401, "Passkey not accepted"),
    ],
    ids=["disabled", "deleted"],
)
async def test_an_account_an_administrator_closed_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    passkey: SoftCredential,
    method: str,
    body: dict[str, Any] | None,
    status: int,
    detail: str,
) -> None:
    root = await admin_login(app, client)
    alice_id = await grant(app, "alice")  # no roles: only her id is wanted
    closed = await client.request(
        method, f"/admin/users/{alice_id}", json=body, headers=root.bearer
    )
    assert closed.status_code in (200, 204), closed.text

    _refused(await passkey_login(client, passkey), status, detail)


@pytest.mark.parametrize(
    "credential",
    [{}, {"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "!"}}],
    ids=["empty", "not-base64url"],
)
async def test_a_malformed_credential_is_a_400(
    client: httpx.AsyncClient, credential: dict[str, Any]
) -> None:
    options = await login_options(client)
    body = {"challenge_id": options["challenge_id"], "credential": credential}
    _refused(await client.post(VERIFY, json=body), 400, "Malformed passkey credential")


async def test_authenticator_data_that_is_not_authenticator_data_is_refused(
    client: httpx.AsyncClient, passkey: SoftCredential
) -> None:
    body = await login_answer(client, passkey)
    body["credential"]["response"]["authenticatorData"] = b64(b"\x00" * 5)
    _refused(await client.post(VERIFY, json=body), 401, "Passkey not accepted")


async def test_login_routes_refuse_pages_of_other_sites(client: httpx.AsyncClient) -> None:
    foreign = {"Origin": "https://evil.example"}
    options = await client.post("/auth/passkeys/login/options", headers=foreign)
    verify = await client.post(
        VERIFY, json={"challenge_id": "x", "credential": {}}, headers=foreign
    )
    assert options.status_code == 403
    assert verify.status_code == 403


async def test_login_requests_are_throttled_per_client_address(client_for: ClientFor) -> None:
    async with client_for(**PASSKEY_SETTINGS, throttle_passkey_per_ip="2/minute") as throttled:
        for _ in range(2):
            assert (await throttled.post("/auth/passkeys/login/options")).status_code == 200
        third = await throttled.post("/auth/passkeys/login/options")
        verify = await throttled.post(VERIFY, json={"challenge_id": "x", "credential": {}})
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) >= 1
    assert verify.status_code == 429


async def test_a_password_login_and_a_passkey_login_are_separate_sessions(
    client: httpx.AsyncClient, alice: Tokens, passkey: SoftCredential
) -> None:
    await passkey_login(client, passkey)
    await register(client, "bob")
    await login(client, "bob")
    sessions = (await get_page(client, "/auth/sessions", alice))["sessions"]
    assert len(sessions) == 2
