"""Passkey ceremonies begun on one replica and completed on another: the challenges live in
the shared store, not in a replica's memory."""

from __future__ import annotations

from tests.replicas_in_process.conftest import Replicas
from tests.support import authenticator
from tests.support.http import login, register
from tests.support.passkeys import PASSKEY_SETTINGS, login_options, registration_options
from tests.support.settings import REDIS_URL

VERIFY = "/auth/passkeys/login/verify"


async def test_a_passkey_registered_and_used_across_replicas(replicas: Replicas) -> None:
    a, b = await replicas(REDIS_URL, REDIS_URL, **PASSKEY_SETTINGS)
    await register(a)
    tokens = await login(a)

    options = await registration_options(a, tokens)  # begun on A ...
    credential, answer = authenticator.create(options["publicKey"])
    registered = await b.post(  # ... completed on B
        "/auth/passkeys/register/verify",
        json={"challenge_id": options["challenge_id"], "credential": answer},
        headers=tokens.bearer,
    )
    assert registered.status_code == 201, registered.text

    challenge = await login_options(b)
    body = {
        "challenge_id": challenge["challenge_id"],
        "credential": authenticator.get(challenge["publicKey"], credential),
    }
    on_a = await a.post(VERIFY, json=body)
    replayed_on_b = await b.post(VERIFY, json=body)

    assert on_a.status_code == 200, on_a.text
    assert replayed_on_b.status_code == 400
    assert replayed_on_b.json() == {"detail": "Unknown, used or expired challenge"}
