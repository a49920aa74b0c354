"""Second factors across two real `authsvc serve` replicas sharing one store and one Redis:
a code used on one is refused on the other; a login begun on one completes on the other."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.http import CSRF_HEADER, login_sync, register_sync, token_pair
from tests.support.mfa import (
    Enrolled,
    enrol_totp_sync,
    first_step_sync,
    next_code,
    second_step_sync,
)
from tests.support.processes import Server, ServerFactory, redis_env

RACERS = 20


@pytest.fixture
def pair(servers: ServerFactory, tmp_path: Path, database_url: str) -> tuple[Server, Server]:
    env = redis_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        THROTTLE_PER_IP="1000/minute",
        THROTTLE_PER_ACCOUNT_IP="1000/minute",
        THROTTLE_MFA_PER_ACCOUNT="1000/minute",
    )
    return servers.start(env), servers.start(env)


def enrolled_alice(replica: Server) -> Enrolled:
    with replica.client() as client:
        register_sync(client, "alice")
        return enrol_totp_sync(client, login_sync(client, "alice"))


def test_a_login_begun_on_one_replica_completes_on_the_other_once(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    enrolled = enrolled_alice(a)
    code = next_code(enrolled.secret, datetime.now(UTC))
    with a.client() as on_a, b.client() as on_b:
        mfa_token = first_step_sync(on_a, "alice")
        assert token_pair(second_step_sync(on_b, mfa_token, code))
        # The code is spent everywhere, and so is the token.
        refused = second_step_sync(on_a, first_step_sync(on_b, "alice"), code)
        assert (refused.status_code, refused.json()) == (401, {"detail": "Invalid code"})
        again = second_step_sync(on_a, mfa_token, enrolled.recovery_codes[0], "recovery_code")
        assert again.status_code == 401
        assert again.json() == {"detail": "Invalid or expired mfa_token; log in again"}


def test_a_recovery_code_used_on_one_replica_is_refused_on_the_other(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    enrolled = enrolled_alice(b)
    code = enrolled.recovery_codes[5]
    with a.client() as on_a, b.client() as on_b:
        first = second_step_sync(on_a, first_step_sync(on_a, "alice"), code, "recovery_code")
        assert token_pair(first)
        second = second_step_sync(on_b, first_step_sync(on_b, "alice"), code, "recovery_code")
        assert second.status_code == 401


def test_one_code_fired_at_both_replicas_at_once_wins_once(pair: tuple[Server, Server]) -> None:
    a, b = pair
    enrolled = enrolled_alice(a)
    with a.client() as on_a:
        tokens = [first_step_sync(on_a, "alice") for _ in range(RACERS)]
    code = next_code(enrolled.secret, datetime.now(UTC))

    async def storm() -> list[httpx.Response]:
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=30, headers=CSRF_HEADER) as ca,
            httpx.AsyncClient(base_url=b.base_url, timeout=30, headers=CSRF_HEADER) as cb,
        ):
            return await asyncio.gather(
                *(
                    (ca if n % 2 else cb).post(
                        "/auth/login/mfa",
                        json={"mfa_token": token, "method": "totp", "code": code},
                    )
                    for n, token in enumerate(tokens)
                )
            )

    statuses = sorted(r.status_code for r in asyncio.run(storm()))
    assert statuses == [200] + [401] * (RACERS - 1), statuses
