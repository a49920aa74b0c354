"""Fault-injection fixtures: real servers, a migrated PostgreSQL, a throwaway PostgreSQL.

The shared PostgreSQL (127.0.0.1:5432) and Redis (6379) are never stopped here; a test that
takes its store down runs a PostgreSQL of its own on a free loopback port.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port
from tests.support.stores import _empty

PG_TIMEOUT_SECONDS = 30.0


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    """This run's migrated database on the shared PostgreSQL, emptied for this test."""
    await _empty(postgres_database)
    yield postgres_database


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL binary {name} is not installed"
    return found[-1]


class ThrowawayPostgres:
    """A PostgreSQL cluster of one test's own, run as the `postgres` user (initdb refuses root).

    Trust auth, loopback only, fsync off; its socket lives in its own directory, so it never
    touches the shared server's socket or port.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, (result.stdout, result.stderr, self.output())

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def init(self) -> None:
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off "
            f"-c full_page_writes=off -c unix_socket_directories={self.directory}"
        )
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
            "-t", "20", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "20", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    # tmp_path sits under /root, which the postgres user cannot reach; /tmp it can.
    directory = Path(tempfile.mkdtemp(prefix="authsvc-faults-pg-", dir="/tmp"))
    shutil.chown(directory, user="postgres", group="postgres")
    directory.chmod(0o700)
    server = ThrowawayPostgres(directory)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            subprocess.run(
                ["runuser", "-u", "postgres", "--", _pg_bin("pg_ctl"), "-D", str(server.data),
                 "-m", "immediate", "-w", "-t", "20", "stop"],
                capture_output=True,
                timeout=PG_TIMEOUT_SECONDS,
                check=False,
            )  # fmt: skip
        print(f"--- throwaway PostgreSQL on port {server.port} ---")
        print(server.output())
        for _ in range(3):
            shutil.rmtree(directory, ignore_errors=True)
            if not directory.exists():
                break
            time.sleep(0.1)
