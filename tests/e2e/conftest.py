"""End-to-end fixtures: the real `authsvc` process, started on a free loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import Server, ServerFactory, server_env


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
