"""/auth/verify on a real server: the verified-token cache never outlasts a revocation, and
the lean endpoint is logged like any route.

The checks run concurrently over loopback, as a gateway's do, so a logout lands while many
checks of the same (cached) token are in flight.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from tests.e2e.test_access_log import wait_for_access_lines
from tests.support.http import CSRF_HEADER, Tokens, cookie_header, login_sync, register_sync
from tests.support.processes import Server

CHECKERS = 50
# Checks each checker makes before the logout, and at least after it.
BEFORE, AFTER = 2, 3


@dataclass(frozen=True)
class Check:
    sent_at: float
    answered_at: float
    status: int


async def race_a_logout(server: Server, tokens: Tokens) -> tuple[list[Check], float, float]:
    """CHECKERS connections verify `tokens` back to back, starting together; once each has
    been answered BEFORE times, the session is logged out. Every check, and when the logout
    was sent and answered."""
    checks: list[Check] = []
    go, halfway = asyncio.Event(), asyncio.Event()
    logout_sent = logout_done = float("inf")
    limits = httpx.Limits(max_connections=CHECKERS + 1)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:

        async def checker() -> None:
            await go.wait()
            mine = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                sent = time.monotonic()
                status = (await client.get("/auth/verify", headers=tokens.bearer)).status_code
                checks.append(Check(sent, time.monotonic(), status))
                if len(checks) >= CHECKERS * BEFORE:
                    halfway.set()
                mine += sent > logout_done
                if mine >= AFTER:
                    return

        async def revoker() -> None:
            nonlocal logout_sent, logout_done
            await halfway.wait()
            logout_sent = time.monotonic()
            headers = {**cookie_header(tokens.refresh), **CSRF_HEADER}
            assert (await client.post("/auth/logout", headers=headers)).status_code == 204
            logout_done = time.monotonic()

        tasks = [asyncio.create_task(checker()) for _ in range(CHECKERS)]
        tasks.append(asyncio.create_task(revoker()))
        go.set()
        await asyncio.gather(*tasks)
    return checks, logout_sent, logout_done


def test_fifty_concurrent_checks_see_a_logout_made_midway_at_once(server: Server) -> None:
    with server.client() as client:
        register_sync(client, "alice")
        tokens = login_sync(client, "alice")
        assert client.get("/auth/verify", headers=tokens.bearer).status_code == 200  # cached

    checks, logout_sent, logout_done = asyncio.run(race_a_logout(server, tokens))

    after = [check.status for check in checks if check.sent_at > logout_done]
    before = [check.status for check in checks if check.answered_at < logout_sent]
    assert len(after) >= CHECKERS * AFTER
    assert set(after) == {401}, f"{after.count(200)} checks passed after the logout"
    assert len(before) >= CHECKERS * BEFORE
    assert set(before) == {200}
    # Checks in flight while the logout ran may go either way, but never anything else.
    assert {check.status for check in checks} <= {200, 401}


def test_the_lean_endpoint_is_logged_with_the_method_sent_and_no_query(server: Server) -> None:
    with server.client() as client:
        register_sync(client, "alice")
        tokens = login_sync(client, "alice")
        answered = client.request(
            "PROPFIND",
            "/auth/verify",
            params={"role": "ops", "access_token": "SHOULD-NOT-BE-LOGGED"},
            headers={**tokens.bearer, "X-Request-ID": "gw-verify-1"},
        )
        assert answered.status_code == 403
        assert answered.headers["x-request-id"] == "gw-verify-1"
        assert client.get("/auth/verify").status_code == 401
    lines = wait_for_access_lines(
        server, {("PROPFIND", "/auth/verify", 403), ("GET", "/auth/verify", 401)}
    )
    logged = [line for line in lines if line["method"] == "PROPFIND"]
    assert [line["request_id"] for line in logged] == ["gw-verify-1"]
    assert "SHOULD-NOT-BE-LOGGED" not in server.output()
