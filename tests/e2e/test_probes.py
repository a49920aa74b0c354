"""Liveness and readiness of a real process: HEAD probes, and Redis that is down or misspelt."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.http import cookie_header, login_sync, register_sync
from tests.support.polling import eventually_sync
from tests.support.processes import ServerFactory, ThrowawayRedis, run_cli, server_env

READY_WITHIN_SECONDS = 10.0


def wait_for_status(client: httpx.Client, path: str, status: int) -> None:
    def answers() -> None:
        answered = client.get(path).status_code
        assert answered == status, f"{path} still answers {answered}, not {status}"

    eventually_sync(answers, timeout=READY_WITHIN_SECONDS, interval=0.1)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_probe_answers_like_get_without_a_body(
    servers: ServerFactory, env: dict[str, str], path: str
) -> None:
    server = servers.start(env)
    with server.client() as client:
        got = client.get(path)
        head = client.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_unreachable_redis_at_startup_is_loud_and_not_ready_until_it_answers(
    servers: ServerFactory, tmp_path: Path
) -> None:
    redis = ThrowawayRedis(tmp_path)  # its port is chosen, nothing listens on it yet
    env = server_env(
        tmp_path / "authsvc.db",
        REDIS_URL=f"redis://:not-logged-secret@127.0.0.1:{redis.port}/0",
        REDIS_PREFIX=f"authsvc-probe-{uuid.uuid4().hex[:12]}",
    )
    server = servers.start(env)
    try:
        with server.client() as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503
            # Degraded, not down: revocations are read from the store, counters kept here.
            register_sync(client, "alice")
            tokens = login_sync(client, "alice")
            assert client.get("/auth/me", headers=tokens.bearer).status_code == 200
            assert (
                client.post("/auth/logout", headers=cookie_header(tokens.refresh)).status_code
                == 204
            )
            assert client.get("/auth/me", headers=tokens.bearer).status_code == 401

            redis.start()
            wait_for_status(client, "/readyz", 200)
            redis.stop()
            wait_for_status(client, "/readyz", 503)
    finally:
        redis.stop()

    log = server.output()
    warnings = [
        entry for entry in server.events() if f"127.0.0.1:{redis.port}" in str(entry.get("msg", ""))
    ]
    assert warnings, log
    assert warnings[0]["level"] in ("error", "critical"), warnings[0]
    assert "/readyz" in warnings[0]["msg"]
    assert "not-logged-secret" not in log


def test_malformed_redis_url_refuses_to_start_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = {**env, "REDIS_URL": "redis://:not-logged-secret@127.0.0.1:notaport/0"}
    result = run_cli(["serve", "--port", "1"], bad, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "REDIS_URL" in lines[0]
    assert "not-logged-secret" not in result.stderr + result.stdout
