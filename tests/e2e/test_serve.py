"""`authsvc serve` start-up behaviour: development mode, and where it listens."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.http import login_sync, register_sync
from tests.support.processes import ServerFactory, free_port, server_env


def test_development_mode_without_secrets_works_and_warns(
    servers: ServerFactory, database: Path
) -> None:
    env = server_env(
        database, ENVIRONMENT="development", ACCESS_TOKEN_SECRET=None, REFRESH_TOKEN_SECRET=None
    )
    server = servers.start(env)
    with server.client() as client:
        register_sync(client, "dave")
        tokens = login_sync(client, "dave")
        me = client.get("/auth/me", headers=tokens.bearer)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "dave"

    warnings = [
        entry
        for entry in server.events()
        if entry["level"] == "warning" and "DEVELOPMENT MODE" in entry["msg"]
    ]
    assert len(warnings) == 1, server.output()
    assert "ACCESS_TOKEN_SECRET" in warnings[0]["msg"]
    assert "Traceback" not in server.output()


def test_serve_listens_on_the_port_variable(servers: ServerFactory, database: Path) -> None:
    port = free_port()
    server = servers.start(server_env(database, PORT=str(port)), port=port, port_flag=False)
    assert "--port" not in server.command
    with httpx.Client(timeout=5.0) as client:
        response = client.get(f"http://127.0.0.1:{port}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert f"Uvicorn running on http://127.0.0.1:{port}" in server.output()
