"""The migration check at start: the schema's revision read without Alembic, Alembic only
when there is something to migrate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from authsvc.store import open_store
from authsvc.store.migrate import HEAD_REVISION, current_revision, head_revision
from tests.support.migrations import upgrade_sqlite_to

# What a starting process does: the check, then what it found and what it had to import.
_START = """
import asyncio, json, sys
from authsvc.store import open_store

async def start(url):
    async with open_store(url, migrate=True) as store:
        return await store.schema_revision()

revision = asyncio.run(start(sys.argv[1]))
print(json.dumps({"revision": revision, "alembic": "alembic" in sys.modules}))
"""


def _start(url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _START, url], capture_output=True, text=True, check=True
    )
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def test_the_head_revision_is_the_newest_migration() -> None:
    # Fails when a migration is added and HEAD_REVISION is not moved to it.
    assert head_revision() == HEAD_REVISION


def test_an_empty_database_has_no_revision(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with engine.connect() as connection:
            assert current_revision(connection) is None
    finally:
        engine.dispose()


async def test_a_schema_at_head_is_checked_without_alembic(database_url: str) -> None:
    async with open_store(database_url, migrate=True):
        pass  # at head

    assert _start(database_url) == {"revision": HEAD_REVISION, "alembic": False}


def test_a_schema_behind_head_is_migrated_with_alembic(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade_sqlite_to(f"sqlite:///{path}", "0010")

    assert _start(f"sqlite+aiosqlite:///{path}") == {"revision": HEAD_REVISION, "alembic": True}


def test_an_empty_database_is_migrated_with_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"

    assert _start(url) == {"revision": HEAD_REVISION, "alembic": True}
