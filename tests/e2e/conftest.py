"""End-to-end fixtures: the real `authsvc` process, started on a free loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.http import register_sync
from tests.support.processes import Server, ServerFactory, server_env
from tests.support.smtp_sink import Sink, SinkFactory


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "authsvc.db"


@pytest.fixture
def env(database: Path) -> dict[str, str]:
    """Production settings with valid secrets on this test's own SQLite file."""
    return server_env(database)


@pytest.fixture
def server(servers: ServerFactory, env: dict[str, str]) -> Server:
    """One `authsvc serve` under `env`, ready; stopped when the test ends."""
    return servers.start(env)


@pytest.fixture
def mailing(servers: ServerFactory, smtp_sinks: SinkFactory, database: Path) -> tuple[Server, Sink]:
    """A server that mails to a fresh sink, where alice has just registered with an address."""
    sink = smtp_sinks.start()
    server = servers.start(server_env(database, **sink.env()))
    with server.client() as client:
        register_sync(client, "alice", email="alice@example.com")
    return server, sink
