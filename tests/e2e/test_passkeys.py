"""Passkeys through real `authsvc serve` processes, on SQLite and PostgreSQL: one login answer
fired many times at once opens one session, and so does one second-step answer with its
mfa_token; a ceremony begun on one replica completes on another; removals racing each other
never take the last passkey without the password; a burst of login requests gets exactly the
per-address allowance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.support.authenticator import SoftCredential
from tests.support.http import (
    CSRF_HEADER,
    PASSWORD,
    Tokens,
    bearer,
    get_page_sync,
    login_sync,
    register_sync,
)
from tests.support.mfa import first_step_sync
from tests.support.passkeys import (
    PASSKEY_ENV,
    login_answer_sync,
    register_passkey_sync,
    second_step_answer_sync,
)
from tests.support.processes import Server, ServerFactory, redis_env, server_env

BURST = 20
VERIFY = "/auth/passkeys/login/verify"


def start(
    servers: ServerFactory, tmp_path: Path, database_url: str, *, limit: str = "10000/minute"
) -> Server:
    env = server_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        THROTTLE_PASSKEY_PER_IP=limit,
        THROTTLE_MFA_PER_ACCOUNT="10000/minute",
        **PASSKEY_ENV,
    )
    return servers.start(env)


def alice_with_passkeys(server: Server, count: int) -> tuple[Tokens, list[SoftCredential]]:
    """Alice, signed in with her password, and `count` passkeys of hers."""
    with server.client() as client:
        register_sync(client, "alice")
        tokens = login_sync(client, "alice")
        return tokens, [register_passkey_sync(client, tokens) for _ in range(count)]


def fire(
    server: Server, requests: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]]
) -> list[httpx.Response]:
    """Every request at once, over connections of their own."""

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.request(method, path, json=body, headers=headers)
                    for method, path, body, headers in requests
                )
            )

    return asyncio.run(storm())


def test_one_login_answer_fired_at_once_opens_exactly_one_session(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    server = start(servers, tmp_path, database_url)
    tokens, (credential,) = alice_with_passkeys(server, 1)
    with server.client() as client:
        body = login_answer_sync(client, credential)

    responses = fire(server, [("POST", VERIFY, body, {})] * BURST)

    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == BURST - 1, statuses
    with server.client() as client:
        sessions = get_page_sync(client, "/auth/sessions", tokens)["sessions"]
    assert len(sessions) == 2  # the password login's and the passkey login's


def test_one_second_step_answer_fired_at_once_opens_exactly_one_session(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    server = start(servers, tmp_path, database_url)
    tokens, (credential,) = alice_with_passkeys(server, 1)
    with server.client() as client:
        body = second_step_answer_sync(client, first_step_sync(client, "alice"), credential)

    responses = fire(server, [("POST", "/auth/login/mfa", body, CSRF_HEADER)] * BURST)

    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    # The others find the challenge used (400) or, later, the mfa_token used (401).
    assert set(statuses) <= {200, 400, 401}, statuses
    with server.client() as client:
        sessions = get_page_sync(client, "/auth/sessions", tokens)["sessions"]
    assert len(sessions) == 2  # the password login's and the second step's


def test_racing_removals_leave_the_last_passkey(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    server = start(servers, tmp_path, database_url)
    tokens, _ = alice_with_passkeys(server, 4)
    with server.client() as client:
        ids = [p["id"] for p in get_page_sync(client, "/auth/passkeys", tokens)["passkeys"]]

    responses = fire(
        server, [("DELETE", f"/auth/passkeys/{i}", None, bearer(tokens.access)) for i in ids]
    )

    assert sorted(r.status_code for r in responses) == [204, 204, 204, 403]
    with server.client() as client:
        left = get_page_sync(client, "/auth/passkeys", tokens)["passkeys"]
        assert len(left) == 1
        removed = client.request(
            "DELETE",
            f"/auth/passkeys/{left[0]['id']}",
            json={"current_password": PASSWORD},
            headers=tokens.bearer,
        )
    assert removed.status_code == 204


def test_a_ceremony_begun_on_one_replica_completes_on_the_other(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    env = redis_env(tmp_path / "unused.db", DATABASE_URL=database_url, **PASSKEY_ENV)
    a, b = servers.start(env), servers.start(env)
    with a.client() as on_a, b.client() as on_b:
        register_sync(on_a, "alice")
        tokens = login_sync(on_a, "alice")
        credential = register_passkey_sync(on_b, tokens)
        body = login_answer_sync(on_a, credential)

        on_b_first = on_b.post(VERIFY, json=body)
        on_a_again = on_a.post(VERIFY, json=body)

    assert on_b_first.status_code == 200, on_b_first.text
    assert on_a_again.status_code == 400


def test_a_burst_of_login_requests_gets_exactly_the_allowance(
    servers: ServerFactory, tmp_path: Path, database_url: str
) -> None:
    server = start(servers, tmp_path, database_url, limit="5/minute")

    responses = fire(server, [("POST", "/auth/passkeys/login/options", None, {})] * BURST)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * (BURST - 5), statuses
