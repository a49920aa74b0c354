"""The second login step through the API, on every store: what completes it, what kills its
mfa_token, and what a completed login carries."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from authsvc.mfa.totp import code_at
from tests.api.admin_helpers import admin_login
from tests.support.apps import ClientFor
from tests.support.http import PASSWORD, Tokens, bearer, get_page, login, register, token_pair
from tests.support.mfa import (
    Enrolled,
    enrol_totp,
    first_step,
    next_code,
    second_step,
    wrong_code,
)
from tests.support.settings import FakeClock

INVALID_CODE = (401, {"detail": "Invalid code"})
INVALID_TOKEN = (401, {"detail": "Invalid or expired mfa_token; log in again"})


def answer(response: httpx.Response) -> tuple[int, object]:
    return response.status_code, response.json()


@pytest.fixture
async def enrolled(client: httpx.AsyncClient, alice: Tokens, clock: FakeClock) -> Enrolled:
    return await enrol_totp(client, alice, clock.now)


async def test_the_password_earns_an_mfa_token_and_a_code_the_session(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    response = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    body = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert body == {
        "mfa_required": True,
        "mfa_token": body["mfa_token"],
        "methods": ["totp", "recovery_code"],
        "expires_in": 300,
    }
    assert response.headers.get_list("set-cookie") == []

    tokens = token_pair(
        await second_step(client, body["mfa_token"], next_code(enrolled.secret, clock.now))
    )
    verified = await client.get("/auth/verify", headers=tokens.bearer, params={"mfa": "1"})
    assert verified.status_code == 200
    assert verified.headers["x-auth-amr"] == "pwd,otp,mfa"
    assert (await client.get("/auth/me", headers=tokens.bearer)).status_code == 200


async def test_the_docs_form_login_asks_for_the_second_step_too(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    response = await client.post("/auth/token", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["mfa_required"] is True
    assert response.headers.get_list("set-cookie") == []


async def test_an_account_without_a_second_factor_logs_in_with_one_step(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    verified = await client.get("/auth/verify", headers=alice.bearer, params={"mfa": "1"})
    assert verified.status_code == 403
    assert (
        "mfa_required"
        not in (
            await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        ).json()
    )


async def test_a_code_is_accepted_once(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    code = next_code(enrolled.secret, clock.now)
    token_pair(await second_step(client, await first_step(client), code))
    replay = await second_step(client, await first_step(client), code)
    assert answer(replay) == INVALID_CODE
    # Nor an older step's code, though it is within the skew: steps only move forward.
    older = await second_step(client, await first_step(client), code_at(enrolled.secret, clock.now))
    assert answer(older) == INVALID_CODE
    clock.advance(60)
    assert token_pair(
        await second_step(client, await first_step(client), code_at(enrolled.secret, clock.now))
    )


async def test_the_code_the_enrolment_used_does_not_log_in(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    response = await second_step(
        client, await first_step(client), code_at(enrolled.secret, clock.now)
    )
    assert answer(response) == INVALID_CODE


async def test_an_mfa_token_works_once(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    token_pair(await second_step(client, mfa_token, next_code(enrolled.secret, clock.now)))
    clock.advance(60)
    again = await second_step(client, mfa_token, code_at(enrolled.secret, clock.now))
    assert answer(again) == INVALID_TOKEN
    assert again.headers["www-authenticate"] == "Bearer"


async def test_an_mfa_token_dies_after_its_lifetime(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    clock.advance(301)
    response = await second_step(client, mfa_token, code_at(enrolled.secret, clock.now))
    assert answer(response) == INVALID_TOKEN


async def test_the_fifth_wrong_code_ends_the_mfa_token(
    client_for: ClientFor, clock: FakeClock
) -> None:
    async with client_for(throttle_mfa_per_account="100/minute") as client:
        await register(client)
        enrolled = await enrol_totp(client, await login(client), clock.now)
        right = next_code(enrolled.secret, clock.now)
        mfa_token = await first_step(client)
        for _ in range(4):
            assert answer(await second_step(client, mfa_token, wrong_code(right))) == INVALID_CODE
        # Four wrong codes leave it working...
        survivor = await first_step(client)
        for _ in range(5):
            assert answer(await second_step(client, survivor, wrong_code(right))) == INVALID_CODE
        # ...the fifth ends it, even for the right code.
        assert answer(await second_step(client, survivor, right)) == INVALID_TOKEN
        assert token_pair(await second_step(client, mfa_token, right))


async def test_a_password_change_ends_outstanding_mfa_tokens(
    client: httpx.AsyncClient, alice: Tokens, enrolled: Enrolled, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    changed = await client.post(
        "/auth/password",
        headers=alice.bearer,
        json={"current_password": PASSWORD, "new_password": "another fine passphrase"},
    )
    assert changed.status_code == 204
    response = await second_step(client, mfa_token, next_code(enrolled.secret, clock.now))
    assert answer(response) == INVALID_TOKEN


async def test_codes_and_tokens_do_not_cross_accounts(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    await register(client, "bob")
    bob = await enrol_totp(client, await login(client, "bob"), clock.now)
    alices_token = await first_step(client)
    bobs_code = next_code(bob.secret, clock.now)
    assert answer(await second_step(client, alices_token, bobs_code)) == INVALID_CODE
    bobs_recovery = bob.recovery_codes[0]
    crossed = await second_step(client, alices_token, bobs_recovery, "recovery_code")
    assert answer(crossed) == INVALID_CODE
    # Bob's code and recovery code still work for bob.
    assert token_pair(await second_step(client, await first_step(client, "bob"), bobs_code))
    recovered = await second_step(
        client, await first_step(client, "bob"), bobs_recovery, "recovery_code"
    )
    assert token_pair(recovered)


async def test_a_recovery_code_completes_a_login_once(
    client: httpx.AsyncClient, alice: Tokens, enrolled: Enrolled
) -> None:
    code = enrolled.recovery_codes[3]
    typed = code.lower().replace("-", " ")  # as a person might type it
    tokens = token_pair(await second_step(client, await first_step(client), typed, "recovery_code"))
    verified = await client.get("/auth/verify", headers=tokens.bearer, params={"mfa": "1"})
    assert verified.headers["x-auth-amr"] == "pwd,otp,mfa"
    again = await second_step(client, await first_step(client), code, "recovery_code")
    assert answer(again) == INVALID_CODE
    status = (await client.get("/auth/mfa", headers=alice.bearer)).json()
    assert status["recovery_codes_left"] == 9


async def test_a_method_the_account_does_not_hold_is_a_422(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    body = {"mfa_token": mfa_token, "method": "passkey", "challenge_id": "x", "credential": {}}
    response = await client.post("/auth/login/mfa", json=body)
    assert answer(response) == (422, {"detail": "This method is not available for the account"})
    # Not counted as a wrong code: the token still completes.
    assert token_pair(await second_step(client, mfa_token, next_code(enrolled.secret, clock.now)))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"mfa_token": "x", "method": "totp"},
        {"mfa_token": "x" * 300, "method": "totp", "code": "123456"},
        {"mfa_token": "x", "method": "totp", "code": "1" * 65},
        {"mfa_token": ["x"], "method": "totp", "code": "123456"},
    ],
)
async def test_malformed_bodies_are_a_422(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/auth/login/mfa", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


@pytest.mark.parametrize("mfa_token", ["nonsense", "a" * 43, "\x00bad", "é" * 50])
async def test_unknown_and_malformed_mfa_tokens_are_a_401(
    client: httpx.AsyncClient, mfa_token: str
) -> None:
    response = await second_step(client, mfa_token, "123456")
    assert answer(response) == INVALID_TOKEN


async def test_the_audit_log_records_the_second_factor_events(
    client: httpx.AsyncClient, alice: Tokens, enrolled: Enrolled, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    await second_step(client, mfa_token, wrong_code(next_code(enrolled.secret, clock.now)))
    await second_step(client, mfa_token, enrolled.recovery_codes[0], "recovery_code")
    page = await get_page(client, "/auth/activity", alice)
    kinds = [event["kind"] for event in page["events"]]
    for kind in (
        "totp_enabled",
        "mfa_challenge_failed",
        "recovery_code_used",
        "mfa_login_completed",
    ):
        assert kind in kinds, kinds
    used = next(e for e in page["events"] if e["kind"] == "recovery_code_used")
    assert used["details"] == {"count": 9}
    completed = next(e for e in page["events"] if e["kind"] == "mfa_login_completed")
    assert completed["details"] == {"reason": "recovery_code"}


async def test_an_admin_reset_removes_the_second_step_and_nothing_else(
    client: httpx.AsyncClient, app: FastAPI, alice: Tokens, enrolled: Enrolled
) -> None:
    admin = await admin_login(app, client)
    alice_id = (await client.get("/auth/me", headers=alice.bearer)).json()["id"]
    assert (
        await client.delete(f"/admin/users/{alice_id}/mfa", headers=alice.bearer)
    ).status_code == 403

    response = await client.delete(f"/admin/users/{alice_id}/mfa", headers=admin.bearer)
    assert response.status_code == 204
    assert (await client.get("/auth/me", headers=alice.bearer)).status_code == 200  # not ended
    assert await login(client)  # the password alone again
    status = (await client.get("/auth/mfa", headers=alice.bearer)).json()
    assert (status["totp_enabled"], status["recovery_codes_left"]) == (False, 0)
    audit = await get_page(client, "/admin/audit", admin, kind="mfa_reset_by_admin")
    admin_id = (await client.get("/auth/me", headers=admin.bearer)).json()["id"]
    assert [(e["subject_id"], e["actor_id"], e["details"]) for e in audit["events"]] == [
        (alice_id, admin_id, {"count": 1})
    ]
    missing = await client.delete(
        "/admin/users/00000000-0000-4000-8000-000000000000/mfa", headers=admin.bearer
    )
    assert missing.status_code == 404
    assert (
        await client.delete("/admin/users/x/mfa", headers=bearer(admin.access))
    ).status_code == 404


async def test_codes_at_login_are_throttled_per_account(
    client_for: ClientFor, clock: FakeClock
) -> None:
    async with client_for(throttle_mfa_per_account="2/minute") as client:
        await register(client)
        enrolled = await enrol_totp(client, await login(client), clock.now)  # one code: 1 of 2
        mfa_token = await first_step(client)
        assert answer(await second_step(client, mfa_token, "000000")) == INVALID_CODE
        refused = await second_step(client, mfa_token, next_code(enrolled.secret, clock.now))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json() == {"detail": "Too many attempts; try again later"}


async def test_the_second_step_refuses_cross_site_requests(
    client: httpx.AsyncClient, enrolled: Enrolled, clock: FakeClock
) -> None:
    mfa_token = await first_step(client)
    body = {"mfa_token": mfa_token, "method": "totp", "code": next_code(enrolled.secret, clock.now)}
    response = await client.post(
        "/auth/login/mfa", json=body, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert token_pair(await client.post("/auth/login/mfa", json=body))


async def test_without_a_key_an_enrolled_account_still_owes_its_second_step(
    client_for: ClientFor, enrolled: Enrolled, clock: FakeClock, database_url: str
) -> None:
    # The same database, served by a replica that has lost MFA_ENCRYPTION_KEY: it fails closed.
    async with client_for(mfa_encryption_key=None, database_url=database_url) as keyless:
        mfa_token = await first_step(keyless)
        code = next_code(enrolled.secret, clock.now)
        assert answer(await second_step(keyless, mfa_token, code)) == (
            404,
            {"detail": "TOTP is not configured"},
        )
        recovered = await second_step(
            keyless, mfa_token, enrolled.recovery_codes[0], "recovery_code"
        )
        assert token_pair(recovered)
