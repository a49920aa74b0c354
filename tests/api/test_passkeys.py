"""Registering, listing, renaming and removing passkeys (POST/GET/PATCH/DELETE /auth/passkeys)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.support import authenticator
from tests.support.apps import ClientFor
from tests.support.authenticator import RP_ID, b64
from tests.support.http import PASSWORD, Tokens, get_page, login, register
from tests.support.mfa import enrol_totp
from tests.support.passkeys import (
    passkey_api_settings,  # noqa: F401 - the `settings` fixture of this module
    register_passkey,
    registration_options,
)
from tests.support.settings import FakeClock

VERIFY = "/auth/passkeys/register/verify"


async def _answer(
    client: httpx.AsyncClient, tokens: Tokens, options: dict[str, Any], **create: Any
) -> httpx.Response:
    _, answer = authenticator.create(options["publicKey"], **create)
    body = {"challenge_id": options["challenge_id"], "credential": answer}
    return await client.post(VERIFY, json=body, headers=tokens.bearer)


async def _listed(client: httpx.AsyncClient, tokens: Tokens) -> list[dict[str, Any]]:
    passkeys: list[dict[str, Any]] = (await get_page(client, "/auth/passkeys", tokens))["passkeys"]
    return passkeys


async def test_registration_options_ask_for_a_discoverable_verified_credential(
    client: httpx.AsyncClient, alice: Tokens, settings: Settings
) -> None:
    me = (await client.get("/auth/me", headers=alice.bearer)).json()

    options = await registration_options(client, alice)

    public_key = options["publicKey"]
    assert options["challenge_id"]
    assert public_key["rp"] == {"id": RP_ID, "name": "authsvc"}
    assert public_key["user"]["id"] == b64(me["id"].encode())
    assert public_key["user"]["name"] == "alice"
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    assert public_key["authenticatorSelection"]["userVerification"] == "required"
    assert public_key["attestation"] == "none"
    assert public_key["excludeCredentials"] == []
    assert public_key["timeout"] == settings.webauthn_challenge_ttl_seconds * 1000


async def test_a_registered_passkey_is_listed_and_excluded_from_the_next_registration(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    credential, created = await register_passkey(client, alice, name="Laptop")

    assert created["name"] == "Laptop"
    assert created["created_at"]
    assert await _listed(client, alice) == [created]
    excluded = (await registration_options(client, alice))["publicKey"]["excludeCredentials"]
    assert [entry["id"] for entry in excluded] == [credential.id]
    assert excluded[0]["transports"] == ["internal", "hybrid"]


async def test_a_passkey_without_a_name_gets_the_default_one(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    _, created = await register_passkey(client, alice)
    assert created["name"] == "Passkey"


async def test_registration_is_on_the_users_activity(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    await register_passkey(client, alice)
    events = (await get_page(client, "/auth/activity", alice))["events"]
    assert "passkey_registered" in [event["kind"] for event in events]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/auth/passkeys/register/options"),
        ("POST", VERIFY),
        ("GET", "/auth/passkeys"),
        ("PATCH", "/auth/passkeys/x"),
        ("DELETE", "/auth/passkeys/x"),
    ],
)
async def test_the_users_own_routes_need_a_bearer_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_registration_challenge_is_answered_once(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    options = await registration_options(client, alice)
    assert (await _answer(client, alice, options)).status_code == 201

    again = await _answer(client, alice, options)

    assert again.status_code == 400
    assert again.json() == {"detail": "Unknown, used or expired challenge"}


async def test_an_expired_registration_challenge_is_refused(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock, settings: Settings
) -> None:
    options = await registration_options(client, alice)
    clock.advance(settings.webauthn_challenge_ttl_seconds + 1)
    refreshed = await login(client)  # the access token would have expired meanwhile

    response = await _answer(client, refreshed, options)

    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown, used or expired challenge"}


async def test_another_users_registration_challenge_is_refused(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    await register(client, "bob")
    bob = await login(client, "bob")
    options = await registration_options(client, alice)

    response = await _answer(client, bob, options)

    assert response.status_code == 400
    # Refused without being used: alice can still answer it.
    assert (await _answer(client, alice, options)).status_code == 201


async def test_a_login_challenge_does_not_register_a_passkey(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    login_options = (await client.post("/auth/passkeys/login/options")).json()
    options = await registration_options(client, alice)
    forged = {**options, "challenge_id": login_options["challenge_id"]}

    response = await _answer(client, alice, forged)

    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown, used or expired challenge"}


async def test_an_answer_to_another_challenge_under_a_valid_id_is_refused(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    first = await registration_options(client, alice)
    second = await registration_options(client, alice)

    response = await _answer(client, alice, {**first, "challenge_id": second["challenge_id"]})

    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown, used or expired challenge"}


@pytest.mark.parametrize(
    "create",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://authsvc.test"},
        {"rp_id": "evil.example"},
        {"uv": False},
    ],
    ids=["foreign-origin", "http-origin", "foreign-rp-id", "no-user-verification"],
)
async def test_a_credential_failing_verification_is_not_registered(
    client: httpx.AsyncClient, alice: Tokens, create: dict[str, Any]
) -> None:
    options = await registration_options(client, alice)

    response = await _answer(client, alice, options, **create)

    assert response.status_code == 400
    assert response.json() == {"detail": "The passkey could not be verified"}
    assert await _listed(client, alice) == []


async def test_a_credential_registered_already_is_refused(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    credential, _ = await register_passkey(client, alice)
    await register(client, "bob")
    bob = await login(client, "bob")
    options = await registration_options(client, bob)

    response = await _answer(client, bob, options, reuse=credential)

    assert response.status_code == 409
    assert await _listed(client, bob) == []


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
        {"id": "!!", "rawId": "!!", "type": "public-key", "response": {"clientDataJSON": "!!"}},
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": b64(b"[]"), "attestationObject": b64(b"\xff")},
        },
    ],
    ids=["empty", "no-response", "not-base64url", "not-client-data"],
)
async def test_a_malformed_credential_is_a_400(
    client: httpx.AsyncClient, alice: Tokens, credential: dict[str, Any]
) -> None:
    options = await registration_options(client, alice)
    body = {"challenge_id": options["challenge_id"], "credential": credential}

    response = await client.post(VERIFY, json=body, headers=alice.bearer)

    assert response.status_code == 400
    assert response.json() == {"detail": "Malformed passkey credential"}


async def test_an_attestation_object_that_is_not_cbor_is_refused(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    options = await registration_options(client, alice)
    _, answer = authenticator.create(options["publicKey"])
    answer["response"]["attestationObject"] = b64(b"\xff\x00garbage")
    body = {"challenge_id": options["challenge_id"], "credential": answer}

    response = await client.post(VERIFY, json=body, headers=alice.bearer)

    assert response.status_code == 400
    assert response.json() == {"detail": "The passkey could not be verified"}


async def test_a_challenge_id_we_never_handed_out_is_refused(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    options = await registration_options(client, alice)
    for challenge_id in ("nul\x00byte", options["challenge_id"].upper()):
        response = await _answer(client, alice, {**options, "challenge_id": challenge_id})
        assert response.status_code == 400, response.text
        assert response.json() == {"detail": "Unknown, used or expired challenge"}


@pytest.mark.parametrize(
    "body",
    [
        {"challenge_id": "x"},
        {"challenge_id": "x", "credential": []},
        {"challenge_id": "x" * 65, "credential": {}},
        {"challenge_id": "x", "credential": {}, "name": " "},
    ],
    ids=["no-credential", "credential-not-an-object", "long-challenge-id", "blank-name"],
)
async def test_a_malformed_body_is_a_422(
    client: httpx.AsyncClient, alice: Tokens, body: dict[str, Any]
) -> None:
    response = await client.post(VERIFY, json=body, headers=alice.bearer)
    assert response.status_code == 422
    assert "detail" in response.json()


async def test_a_body_that_is_not_json_is_refused_without_a_500(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    headers = {**alice.bearer, "Content-Type": "application/json"}
    response = await client.post(VERIFY, content=b"{not json", headers=headers)
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


async def test_rename_changes_only_the_callers_passkey(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    _, created = await register_passkey(client, alice)
    await register(client, "bob")
    bob = await login(client, "bob")
    path = f"/auth/passkeys/{created['id']}"

    renamed = await client.patch(path, json={"name": "  Phone  "}, headers=alice.bearer)
    by_bob = await client.patch(path, json={"name": "Mine"}, headers=bob.bearer)

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Phone"
    assert by_bob.status_code == 404
    assert [p["name"] for p in await _listed(client, alice)] == ["Phone"]


@pytest.mark.parametrize("name", ["", "   ", "a" * 65, "tab\there", "rtl\u202eoverride"])
async def test_a_name_that_cannot_be_shown_is_refused(
    client: httpx.AsyncClient, alice: Tokens, name: str
) -> None:
    _, created = await register_passkey(client, alice)
    response = await client.patch(
        f"/auth/passkeys/{created['id']}", json={"name": name}, headers=alice.bearer
    )
    assert response.status_code == 422


async def test_an_unknown_passkey_is_a_404(client: httpx.AsyncClient, alice: Tokens) -> None:
    for method in ("PATCH", "DELETE"):
        response = await client.request(
            method, "/auth/passkeys/no-such-id", json={"name": "x"}, headers=alice.bearer
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "Passkey not found"}


@pytest.mark.parametrize("passkey_id", ["nul%00byte", "%C3%A9", "0" * 36])
async def test_an_id_that_names_no_passkey_is_a_404_on_every_store(
    client: httpx.AsyncClient, alice: Tokens, passkey_id: str
) -> None:
    for method in ("PATCH", "DELETE"):
        response = await client.request(
            method, f"/auth/passkeys/{passkey_id}", json={"name": "x"}, headers=alice.bearer
        )
        assert response.status_code == 404, response.text


async def test_the_last_passkey_goes_only_with_the_current_password(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    _, created = await register_passkey(client, alice)
    path = f"/auth/passkeys/{created['id']}"

    without = await client.delete(path, headers=alice.bearer)
    wrong = await client.request(
        "DELETE", path, json={"current_password": "not it"}, headers=alice.bearer
    )
    right = await client.request(
        "DELETE", path, json={"current_password": PASSWORD}, headers=alice.bearer
    )

    assert without.status_code == 403
    assert without.json() == {"detail": "The current password is required"}
    assert wrong.status_code == 401
    assert right.status_code == 204
    assert await _listed(client, alice) == []


async def test_a_passkey_goes_without_the_password_while_another_remains(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    _, first = await register_passkey(client, alice)
    _, second = await register_passkey(client, alice)

    removed = await client.delete(f"/auth/passkeys/{first['id']}", headers=alice.bearer)
    last = await client.delete(f"/auth/passkeys/{second['id']}", headers=alice.bearer)

    assert removed.status_code == 204
    assert last.status_code == 403
    assert [p["id"] for p in await _listed(client, alice)] == [second["id"]]
    events = (await get_page(client, "/auth/activity", alice))["events"]
    assert "passkey_removed" in [event["kind"] for event in events]


async def test_the_last_passkey_goes_without_the_password_while_totp_remains(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    await enrol_totp(client, alice, clock.now)
    _, created = await register_passkey(client, alice)

    removed = await client.delete(f"/auth/passkeys/{created['id']}", headers=alice.bearer)

    assert removed.status_code == 204


async def test_two_removals_racing_never_take_the_last_passkey_without_the_password(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    created = [(await register_passkey(client, alice))[1] for _ in range(2)]

    responses = await asyncio.gather(
        *(client.delete(f"/auth/passkeys/{p['id']}", headers=alice.bearer) for p in created)
    )

    assert sorted(r.status_code for r in responses) == [204, 403]
    assert len(await _listed(client, alice)) == 1


async def test_passkeys_are_off_in_production_without_an_rp_id(
    client_for: ClientFor, app: FastAPI
) -> None:
    del app  # the default app of this module has passkeys on; this one has not
    async with client_for() as plain:
        for method, path in [
            ("POST", "/auth/passkeys/register/options"),
            ("GET", "/auth/passkeys"),
            ("POST", "/auth/passkeys/login/options"),
            ("POST", "/auth/passkeys/login/verify"),
            ("DELETE", "/auth/passkeys/x"),
        ]:
            response = await plain.request(method, path, json={})
            assert response.status_code == 404, path
            assert response.json() == {"detail": "Passkeys are not configured"}
