"""The "once" of second factors under concurrency, through a real `authsvc serve`: requests
fired at the same moment, exactly one of them wins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.http import CSRF_HEADER, bearer, login_sync, register_sync
from tests.support.mfa import (
    Enrolled,
    enrol_totp_sync,
    first_step_sync,
    next_code,
    wrong_code,
)
from tests.support.processes import Server, ServerFactory, server_env

RACERS = 20
# Every login here is meant; only the races are under test.
GENEROUS = {
    "THROTTLE_PER_IP": "1000/minute",
    "THROTTLE_PER_ACCOUNT": "1000/minute",
    "THROTTLE_PER_ACCOUNT_IP": "1000/minute",
    "THROTTLE_MFA_PER_ACCOUNT": "1000/minute",
}


@pytest.fixture
def server(servers: ServerFactory, tmp_path: Path) -> Server:
    return servers.start(server_env(tmp_path / "authsvc.db", **GENEROUS))


def enrolled_alice(server: Server) -> Enrolled:
    with server.client() as client:
        register_sync(client, "alice")
        return enrol_totp_sync(client, login_sync(client, "alice"))


async def fire(base_url: str, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    """POST every body to /auth/login/mfa at once."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=CSRF_HEADER) as client:
        return await asyncio.gather(*(client.post("/auth/login/mfa", json=b) for b in bodies))


def live_sessions(server: Server, access_token: str) -> int:
    with server.client() as client:
        page = client.get("/auth/sessions", headers=bearer(access_token)).json()
    return len(page["sessions"])


def test_one_code_fired_with_many_mfa_tokens_at_once_opens_one_session(server: Server) -> None:
    enrolled = enrolled_alice(server)
    with server.client() as client:
        tokens = [first_step_sync(client, "alice") for _ in range(RACERS)]
    code = next_code(enrolled.secret, datetime.now(UTC))

    bodies = [{"mfa_token": t, "method": "totp", "code": code} for t in tokens]
    responses = asyncio.run(fire(server.base_url, bodies))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * (RACERS - 1), statuses
    assert {r.json()["detail"] for r in responses if r.status_code == 401} == {"Invalid code"}
    winner = next(r for r in responses if r.status_code == 200)
    # The enrolment's session and the winner's: no other login got through.
    assert live_sessions(server, winner.json()["access_token"]) == 2


def test_one_mfa_token_completed_many_times_at_once_opens_one_session(server: Server) -> None:
    enrolled = enrolled_alice(server)
    with server.client() as client:
        mfa_token = first_step_sync(client, "alice")
    # A different valid recovery code in every request: only the token's claim can stop them.
    bodies = [
        {"mfa_token": mfa_token, "method": "recovery_code", "code": code}
        for code in enrolled.recovery_codes
    ]
    responses = asyncio.run(fire(server.base_url, bodies * 2))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * (2 * len(bodies) - 1), statuses
    winner = next(r for r in responses if r.status_code == 200)
    access = winner.json()["access_token"]
    assert live_sessions(server, access) == 2
    with server.client() as client:
        status = client.get("/auth/mfa", headers=bearer(access)).json()
    # The losers' claims rolled back with the codes they would have used.
    assert status["recovery_codes_left"] == 9


def test_one_recovery_code_fired_with_many_mfa_tokens_at_once_works_once(
    server: Server,
) -> None:
    enrolled = enrolled_alice(server)
    with server.client() as client:
        tokens = [first_step_sync(client, "alice") for _ in range(RACERS)]
    code = enrolled.recovery_codes[0]

    bodies = [{"mfa_token": t, "method": "recovery_code", "code": code} for t in tokens]
    statuses = sorted(r.status_code for r in asyncio.run(fire(server.base_url, bodies)))
    assert statuses == [200] + [401] * (RACERS - 1), statuses


def test_wrong_codes_fired_at_once_end_the_mfa_token(server: Server) -> None:
    enrolled = enrolled_alice(server)
    with server.client() as client:
        mfa_token = first_step_sync(client, "alice")
    right = next_code(enrolled.secret, datetime.now(UTC))
    wrong = wrong_code(right)

    bodies = [{"mfa_token": mfa_token, "method": "totp", "code": wrong}] * RACERS
    responses = asyncio.run(fire(server.base_url, bodies))
    assert {r.status_code for r in responses} == {401}
    with server.client() as client:
        late = client.post(
            "/auth/login/mfa", json={"mfa_token": mfa_token, "method": "totp", "code": right}
        )
    assert late.json() == {"detail": "Invalid or expired mfa_token; log in again"}


def test_the_code_throttle_holds_under_a_burst(servers: ServerFactory, tmp_path: Path) -> None:
    limited = {**GENEROUS, "THROTTLE_MFA_PER_ACCOUNT": "5/minute"}
    server = servers.start(server_env(tmp_path / "limited.db", **limited))
    enrolled = enrolled_alice(server)  # its confirmation is the first of the five codes
    with server.client() as client:
        tokens = [first_step_sync(client, "alice") for _ in range(RACERS)]
    wrong = wrong_code(next_code(enrolled.secret, datetime.now(UTC)))

    bodies = [{"mfa_token": t, "method": "totp", "code": wrong} for t in tokens]
    statuses = sorted(r.status_code for r in asyncio.run(fire(server.base_url, bodies)))
    assert statuses == [401] * 4 + [429] * (RACERS - 4), statuses
