"""Failed-login throttling: 429 with Retry-After, honoured, and no lockout weapon."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.support.apps import asgi_client
from tests.support.http import PASSWORD, register
from tests.support.logs import security_events
from tests.support.settings import make_settings

WRONG = "definitely not it"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        throttle_per_ip="8/minute",
        throttle_per_account_ip="3 per 2 seconds",
        throttle_per_account="5/minute",
    )


def client_from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    return asgi_client(app, client_ip=ip, headers=None)


async def attempt_from(app: FastAPI, ip: str, username: str, password: str) -> int:
    """The status of one login attempt from `ip`, on a connection of its own."""
    async with client_from(app, ip) as c:
        return (await attempt(c, username, password)).status_code


async def attempt(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/auth/login", json={"username": username, "password": password})


async def test_repeated_failures_from_one_address_are_throttled_then_released(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    statuses = [(await attempt(client, "alice", WRONG)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]

    throttled = await attempt(client, "alice", PASSWORD)  # even the right password waits

    assert throttled.status_code == 429
    assert throttled.json() == {"detail": "Too many attempts; try again later"}
    retry_after = int(throttled.headers["retry-after"])
    assert 1 <= retry_after <= 2
    assert "set-cookie" not in throttled.headers

    await asyncio.sleep(retry_after + 0.1)  # honour Retry-After: the window has moved on
    assert (await attempt(client, "alice", PASSWORD)).status_code == 200


async def test_a_successful_login_clears_the_address_failures(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    for _ in range(2):
        assert (await attempt(client, "alice", WRONG)).status_code == 401
    assert (await attempt(client, "alice", PASSWORD)).status_code == 200
    for _ in range(2):
        assert (await attempt(client, "alice", WRONG)).status_code == 401
    assert (await attempt(client, "alice", PASSWORD)).status_code == 200


async def test_distributed_guessing_is_capped_per_account_but_not_for_others(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    await register(client, "bob")
    for n in range(5):
        assert await attempt_from(app, f"198.51.100.{n}", "alice", WRONG) == 401
    assert await attempt_from(app, "198.51.100.99", "alice", WRONG) == 429
    assert await attempt_from(app, "203.0.113.7", "bob", PASSWORD) == 200


async def test_one_address_spraying_many_accounts_is_throttled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with client_from(app, "192.0.2.10") as sprayer:
        statuses = [(await attempt(sprayer, f"user{n}", WRONG)).status_code for n in range(9)]
    assert statuses[:8] == [401] * 8
    assert statuses[8] == 429
    assert await attempt_from(app, "192.0.2.11", "user1", WRONG) == 401


async def test_unknown_and_known_accounts_throttle_alike(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    known = [(await attempt(client, "alice", WRONG)).status_code for _ in range(4)]
    async with client_from(app, "192.0.2.20") as other:
        unknown = [(await attempt(other, "ghost", WRONG)).status_code for _ in range(4)]
    assert known == unknown == [401, 401, 401, 429]


async def test_form_login_is_throttled_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client)
    for _ in range(3):
        await client.post("/auth/token", data={"username": "alice", "password": WRONG})
    response = await client.post("/auth/token", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1


async def test_wrong_current_passwords_are_throttled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    login = await attempt(client, "alice", PASSWORD)
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    body = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    statuses = [
        (await client.post("/auth/password", headers=bearer, json=body)).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


async def test_the_owner_is_not_locked_out_from_a_proven_address_by_an_attack_elsewhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    assert await attempt_from(app, "203.0.113.7", "alice", PASSWORD) == 200
    for n in range(4):  # a botnet fills the per-account window (5, the login was one)
        assert await attempt_from(app, f"198.51.100.{n}", "alice", WRONG) == 401
    assert await attempt_from(app, "198.51.100.99", "alice", PASSWORD) == 429

    async with client_from(app, "203.0.113.7") as owner:
        assert (await attempt(owner, "alice", PASSWORD)).status_code == 200
        # The proven address still has its own per-address limit on the account.
        statuses = [(await attempt(owner, "alice", WRONG)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    async with client_from(app, "192.0.2.50") as new_address:  # unproven: waits like anyone
        assert (await attempt(new_address, "alice", PASSWORD)).status_code == 429


@pytest.mark.parametrize(
    ("first", "same_bucket", "other_bucket"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:3::1"),
        ("9.9.9.2", "::ffff:9.9.9.2", "9.9.9.3"),
    ],
)
async def test_addresses_of_one_subscriber_share_their_limits(
    app: FastAPI, client: httpx.AsyncClient, first: str, same_bucket: str, other_bucket: str
) -> None:
    await register(client)
    async with client_from(app, first) as attacker:
        for _ in range(3):
            assert (await attempt(attacker, "alice", WRONG)).status_code == 401
    assert await attempt_from(app, same_bucket, "alice", WRONG) == 429
    assert await attempt_from(app, other_bucket, "alice", WRONG) == 401


async def test_a_throttled_login_names_the_account_by_a_stable_opaque_reference(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")
    for name, address in (("alice", "192.0.2.1"), ("bob", "192.0.2.2")):
        async with client_from(app, address) as attacker:
            for _ in range(5):
                await attempt(attacker, name, WRONG)

    throttled = [
        fields for fields in security_events(caplog) if fields["event"] == "login_throttled"
    ]
    references = [event["account_ref"] for event in throttled]
    assert len(references) == 4
    assert references[0] == references[1] != references[2] == references[3]
    assert all(len(ref) == 16 and "alice" not in ref and "bob" not in ref for ref in references)
    # Keyed: the reference is not a plain hash of the name that anybody can recompute.
    assert all(hashlib.sha256(b"alice").hexdigest()[:16] != ref for ref in references)
