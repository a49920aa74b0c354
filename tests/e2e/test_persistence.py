"""Users and sessions live in the SQLite file, not in the process: they survive a restart."""

from __future__ import annotations

import signal

import pytest

from tests.support.http import (
    cookie_header,
    login_sync,
    refresh_sync,
    register_sync,
    token_pair,
)
from tests.support.processes import ServerFactory


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_users_and_sessions_survive_a_restart(
    servers: ServerFactory, env: dict[str, str], stop_signal: signal.Signals
) -> None:
    before = servers.start(env)
    with before.client() as client:
        register_sync(client, "alice")
        ended = login_sync(client, "alice")
        assert client.post("/auth/logout", headers=cookie_header(ended.refresh)).status_code == 204
        first = login_sync(client, "alice")
        second = token_pair(refresh_sync(client, first.refresh))
        # The last thing before the stop is a successful rotation; its commit must be durable.
        current = token_pair(refresh_sync(client, second.refresh))

    status = before.stop(stop_signal)
    if stop_signal is signal.SIGKILL:
        assert status == -signal.SIGKILL
    else:
        # uvicorn re-raises the signal after a clean shutdown, so either status is graceful.
        assert status in (0, -signal.SIGTERM), before.output()
        assert "Application shutdown complete." in before.output()

    after = servers.start(env)
    with after.client() as client:
        assert client.get("/auth/me", headers=current.bearer).status_code == 200
        # Revocations are rebuilt from the store: the logged-out session stays dead.
        ended_me = client.get("/auth/me", headers=ended.bearer)
        assert ended_me.status_code == 401, ended_me.text
        assert refresh_sync(client, ended.refresh).status_code == 401

        login_sync(client, "alice")

        rotated = token_pair(refresh_sync(client, current.refresh))
        assert rotated.refresh != current.refresh

        # `first` was superseded two rotations before the stop: presenting it is reuse.
        reused = refresh_sync(client, first.refresh)
        assert reused.status_code == 401, reused.text
        assert reused.headers.get("www-authenticate") == "Bearer"
        # Reuse revokes the whole family, including the token rotated after the restart.
        assert refresh_sync(client, rotated.refresh).status_code == 401
        assert client.get("/auth/me", headers=rotated.bearer).status_code == 401

    assert '"event": "refresh_reuse_detected"' in after.output()
