"""Users and sessions live in the SQLite file, not in the process: they survive a restart."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.harness import (
    ServerFactory,
    bearer,
    cookie_header,
    login,
    refresh,
    register,
    token_pair,
)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_users_and_sessions_survive_a_restart(
    servers: ServerFactory, env: dict[str, str], stop_signal: signal.Signals
) -> None:
    before = servers.start(env)
    with before.client() as client:
        register(client, "alice")
        ended = login(client, "alice")
        assert client.post("/auth/logout", headers=cookie_header(ended.refresh)).status_code == 204
        first = login(client, "alice")
        second = token_pair(refresh(client, first.refresh))
        # The last thing before the stop is a successful rotation; its commit must be durable.
        current = token_pair(refresh(client, second.refresh))

    status = before.stop(stop_signal)
    if stop_signal is signal.SIGKILL:
        assert status == -signal.SIGKILL
    else:
        # uvicorn re-raises the signal after a clean shutdown, so either status is graceful.
        assert status in (0, -signal.SIGTERM), before.output()
        assert "Application shutdown complete." in before.output()

    after = servers.start(env)
    with after.client() as client:
        assert client.get("/auth/me", headers=bearer(current.access)).status_code == 200
        # Revocations are rebuilt from the store: the logged-out session stays dead.
        ended_me = client.get("/auth/me", headers=bearer(ended.access))
        assert ended_me.status_code == 401, ended_me.text
        assert refresh(client, ended.refresh).status_code == 401

        login(client, "alice")

        rotated = token_pair(refresh(client, current.refresh))
        assert rotated.refresh != current.refresh

        # `first` was superseded two rotations before the stop: presenting it is reuse.
        reused = refresh(client, first.refresh)
        assert reused.status_code == 401, reused.text
        assert reused.headers.get("www-authenticate") == "Bearer"
        # Reuse revokes the whole family, including the token rotated after the restart.
        assert refresh(client, rotated.refresh).status_code == 401
        assert client.get("/auth/me", headers=bearer(rotated.access)).status_code == 401

    assert '"event": "refresh_reuse_detected"' in after.output()
