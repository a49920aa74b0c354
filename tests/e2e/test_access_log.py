"""The access log of a real server: paths without query strings, real client addresses, levels."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.http import PASSWORD
from tests.support.polling import eventually_sync
from tests.support.processes import Server, ServerFactory, free_port

SECRET_QUERY = {"access_token": "tok-SHOULD-NOT-BE-LOGGED", "password": "pw-SHOULD-NOT-BE-LOGGED"}


def access_lines(server: Server) -> list[dict[str, Any]]:
    return [entry for entry in server.events() if entry["logger"] == "authsvc.access"]


def wait_for_access_lines(
    server: Server, expected: set[tuple[str, str, int]]
) -> list[dict[str, Any]]:
    """The log is written by another process: wait (bounded) until the `expected` requests
    (method, path, status) are all there."""

    def all_there() -> list[dict[str, Any]]:
        lines = access_lines(server)
        found = {(line["method"], line["path"], line["status"]) for line in lines}
        assert expected <= found, found
        return lines

    return eventually_sync(all_there)


def test_access_log_has_the_path_but_never_the_query_string(server: Server) -> None:
    with server.client() as client:
        assert client.get("/healthz", params=SECRET_QUERY).status_code == 200
        login = client.post(
            "/auth/login", params=SECRET_QUERY, json={"username": "nobody", "password": PASSWORD}
        )
        assert login.status_code == 401
        assert client.get("/no/such/path", params=SECRET_QUERY).status_code == 404
    expected = {
        ("GET", "/healthz", 200),
        ("POST", "/auth/login", 401),
        ("GET", "/no/such/path", 404),
    }
    lines = wait_for_access_lines(server, expected)
    assert expected <= {(line["method"], line["path"], line["status"]) for line in lines}
    assert all(line["client"] == "127.0.0.1" for line in lines)
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    assert "SHOULD-NOT-BE-LOGGED" not in server.output()


def test_access_log_shows_the_client_behind_a_trusted_proxy(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    trusting = servers.start({**env, "TRUSTED_PROXIES": "127.0.0.1/32"})
    with trusting.client() as client:
        assert client.get("/readyz", headers=forwarded).status_code == 200
    assert clients_of_readyz(trusting) == ["203.0.113.7"]

    untrusting = servers.start(env)
    with untrusting.client() as client:
        assert client.get("/readyz", headers=forwarded).status_code == 200
    assert clients_of_readyz(untrusting) == ["127.0.0.1"]


def clients_of_readyz(server: Server) -> list[str]:
    # The factory's readiness probes asked /healthz; only the test's request asked /readyz.

    def readyz_lines() -> list[dict[str, Any]]:
        lines = [line for line in access_lines(server) if line["path"] == "/readyz"]
        assert lines, "no /readyz request in the access log"
        return lines

    return [line["client"] for line in eventually_sync(readyz_lines)]


def test_access_log_can_be_switched_off(servers: ServerFactory, env: dict[str, str]) -> None:
    server = servers.start({**env, "ACCESS_LOG": "false"})
    with server.client() as client:
        for _ in range(5):
            assert client.get("/healthz").status_code == 200
    # Lines of the requests above would be written before their answers were sent.
    assert access_lines(server) == []
    assert not any("/healthz" in str(entry.get("msg")) for entry in server.events())


def test_log_level_warning_keeps_only_warnings_and_errors(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    # Spawned by hand: `start` waits for uvicorn's startup line, which is an info line.
    server = servers._spawn({**env, "LOG_LEVEL": "WARNING"}, free_port(), port_flag=True, args=())
    server.wait_ready(announced=False)
    with httpx.Client(base_url=server.base_url, timeout=1) as client:
        assert client.post("/auth/login", json={"username": "x", "password": "y"}).status_code
    server.stop()
    entries = server.events()
    assert entries, "a warning-level log still has the shutdown or startup warnings"
    assert {entry["level"] for entry in entries} <= {"warning", "error", "critical"}
    assert access_lines(server) == []
