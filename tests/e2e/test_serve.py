"""`authsvc serve` start-up behaviour: development mode, where it listens, its threads'
priorities."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from bench.servers import stat_fields

from tests.support.http import login_sync, register_sync
from tests.support.processes import Server, ServerFactory, free_port, server_env


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


BURST = 200
BUSY = 20


async def _answer(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read()  # `Connection: close`: the whole answer, then EOF
    finally:
        writer.close()


async def _keep_busy(port: int, bearer: dict[str, str], stop: asyncio.Event) -> int:
    """Gateway checks on one kept-alive connection until `stop`; how many were answered 200."""
    answered = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        while not stop.is_set():
            response = await client.get("/auth/verify", headers=bearer)
            answered += response.status_code == 200
    return answered


def test_a_burst_of_new_connections_on_a_busy_server_is_answered_in_full(server: Server) -> None:
    """A single worker accepts every waiting connection each turn (accept_loop.py): 200 new
    connections at once, while 20 kept-alive ones keep it busy, each get their answer."""
    with server.client() as client:
        register_sync(client, "burst")
        bearer = login_sync(client, "burst").bearer
    request = b"GET /healthz HTTP/1.1\r\nHost: authsvc\r\nConnection: close\r\n\r\n"

    async def scenario() -> tuple[list[bytes], list[int]]:
        stop = asyncio.Event()
        busy = [asyncio.create_task(_keep_busy(server.port, bearer, stop)) for _ in range(BUSY)]
        await asyncio.sleep(0.2)
        try:
            answers = await asyncio.wait_for(
                asyncio.gather(*(_answer(server.port, request) for _ in range(BURST))), 60
            )
        finally:
            stop.set()
        return answers, await asyncio.gather(*busy)

    answers, checks = asyncio.run(scenario())
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * BURST
    assert all(answer.endswith(b'{"status":"ok"}') for answer in answers)
    assert all(answered > 0 for answered in checks), checks
    assert "Traceback" not in server.output()


def threads_nice(pid: int) -> dict[int, int]:
    """Each thread of `pid` and its niceness, from /proc (the 19th field of its stat)."""
    nice = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        nice[int(task.name)] = int(stat_fields((task / "stat").read_text())[16])
    return nice


def test_the_hashing_threads_and_only_they_run_at_hash_nice(
    servers: ServerFactory, database: Path
) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    server = servers.start(server_env(database, HASH_CONCURRENCY="2", HASH_NICE="6"))
    with server.client() as client:
        register_sync(client, "erin")
        # Logins at once, so that the pool has started both of its threads.
        with ThreadPoolExecutor(4) as pool:
            sessions = list(pool.map(lambda _: login_sync(client, "erin").refresh, range(4)))
        assert len(set(sessions)) == 4

    nice = threads_nice(server.process.pid)
    lowered = [tid for tid, value in nice.items() if value == min(19, ours + 6)]
    assert len(lowered) == 2, nice
    assert all(value == ours for tid, value in nice.items() if tid not in lowered), nice
    assert nice[server.process.pid] == ours  # the event loop's thread
    assert "2 at once at nice +6" in server.output()
