"""Lowering ACCESS_TOKEN_TTL_SECONDS never brings a revoked session's access tokens back.

A revocation is remembered for one access-token lifetime plus leeway, as configured now. These
tests wait past that memory (TTL 10 s, leeway 0: the smallest settings allow) and check that
access tokens minted under the longer TTL still fail, on a restarted replica and across two
replicas that disagree on the TTL during a rolling change.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.support.http import Tokens, cookie_header, login_sync, register_sync
from tests.support.processes import ServerFactory, redis_env, server_env

LONG_TTL = "600"
SHORT_TTL = "10"
# Past the short TTL's revocation memory (TTL + leeway, leeway 0) by a margin.
FORGET_SECONDS = 12


def passes(client: httpx.Client, tokens: Tokens) -> dict[str, int]:
    """The status of both routes that check access tokens."""
    return {
        path: client.get(path, headers=tokens.bearer).status_code
        for path in ("/auth/me", "/auth/verify")
    }


def log_out(client: httpx.Client, tokens: Tokens) -> None:
    assert client.post("/auth/logout", headers=cookie_header(tokens.refresh)).status_code == 204


def test_restart_with_a_shorter_ttl_keeps_revoked_tokens_dead(
    servers: ServerFactory, tmp_path: Path
) -> None:
    env = server_env(
        tmp_path / "authsvc.db", ACCESS_TOKEN_TTL_SECONDS=LONG_TTL, JWT_LEEWAY_SECONDS="0"
    )
    before = servers.start(env)
    with before.client() as client:
        register_sync(client, "alice")
        revoked = login_sync(client, "alice")
        log_out(client, revoked)
        assert passes(client, revoked) == {"/auth/me": 401, "/auth/verify": 401}
    port = before.port
    before.stop()

    after = servers.start({**env, "ACCESS_TOKEN_TTL_SECONDS": SHORT_TTL}, port=port)
    time.sleep(FORGET_SECONDS)
    with after.client() as client:
        assert passes(client, revoked) == {"/auth/me": 401, "/auth/verify": 401}
        # The control: tokens of the new TTL pass, so the refusal above is not a blanket one.
        current = login_sync(client, "alice")
        assert passes(client, current) == {"/auth/me": 200, "/auth/verify": 200}


def test_replicas_with_different_ttls_never_reopen_a_revoked_session(
    servers: ServerFactory, tmp_path: Path
) -> None:
    # A rolling change, whichever way it goes: `long` runs one TTL and `short` the other.
    # Long-lived tokens are revoked on each replica; only `short` forgets revocations soon.
    env = redis_env(tmp_path / "authsvc.db", JWT_LEEWAY_SECONDS="0")
    long = servers.start({**env, "ACCESS_TOKEN_TTL_SECONDS": LONG_TTL})
    short = servers.start({**env, "ACCESS_TOKEN_TTL_SECONDS": SHORT_TTL})
    with long.client() as on_long, short.client() as on_short:
        register_sync(on_long, "alice")
        revoked_on_short = login_sync(on_long, "alice")
        revoked_on_long = login_sync(on_long, "alice")
        log_out(on_short, revoked_on_short)
        log_out(on_long, revoked_on_long)

        time.sleep(FORGET_SECONDS)
        for client in (on_long, on_short):
            for revoked in (revoked_on_short, revoked_on_long):
                assert passes(client, revoked) == {"/auth/me": 401, "/auth/verify": 401}
        # Live sessions: the short replica's tokens pass everywhere; the long replica's pass
        # only where the TTL allows their lifetime.
        live_short = login_sync(on_short, "alice")
        live_long = login_sync(on_long, "alice")
        assert passes(on_long, live_short) == {"/auth/me": 200, "/auth/verify": 200}
        assert passes(on_short, live_short) == {"/auth/me": 200, "/auth/verify": 200}
        assert passes(on_long, live_long) == {"/auth/me": 200, "/auth/verify": 200}
        assert passes(on_short, live_long) == {"/auth/me": 401, "/auth/verify": 401}
