"""The partial indexes of models.py: created with their condition on the backend creating them,
as the migrations create them, without the models importing any dialect."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import create_mock_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.ddl import ExecutableDDLElement

from authsvc.store import open_store
from authsvc.store.engine import create_engine
from authsvc.store.models import LIVE_ONLY, PARTIAL_WHERE, REVOKED_ONLY, metadata, sessions

PARTIAL = {
    "ix_sessions_revoked_at": REVOKED_ONLY,
    "ix_sessions_live_by_user": LIVE_ONLY,
    "ix_sessions_live_by_expiry": LIVE_ONLY,
}


def _created_indexes(url: str) -> dict[str, str]:
    """CREATE INDEX of every index of the sessions table, as `create_all` emits it on `url`'s
    dialect (no database needed)."""
    statements: list[str] = []

    def record(statement: ExecutableDDLElement, *_: object, **__: object) -> None:
        statements.append(str(statement.compile(dialect=engine.dialect)))

    engine = create_mock_engine(url, record)
    metadata.create_all(engine, checkfirst=False)
    created = {}
    for statement in statements:
        words = statement.split()
        if words[:2] == ["CREATE", "INDEX"] and words[3:5] == ["ON", "sessions"]:
            created[words[2]] = " ".join(words)
    return created


def test_the_models_import_no_dialect() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, authsvc.store.models\n"
            "print(json.dumps([m for m in sys.modules if m.startswith('sqlalchemy.dialects.')]))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []


def test_the_partial_indexes_are_the_ones_named_with_their_condition() -> None:
    assert {
        str(index.name): index.info[PARTIAL_WHERE]
        for index in sessions.indexes
        if PARTIAL_WHERE in index.info
    } == PARTIAL


def test_create_all_makes_them_partial_on_either_backend() -> None:
    for url in ("sqlite+aiosqlite://", "postgresql+asyncpg://"):
        created = _created_indexes(url)
        for name, where in PARTIAL.items():
            assert created[name].endswith(f" WHERE {where}"), (url, created[name])
        assert " WHERE " not in created["ix_sessions_user_id"]


async def test_the_migrated_schema_has_the_same_partial_indexes(database_url: str) -> None:
    async with open_store(database_url, migrate=True):
        pass

    def definitions(connection: Connection) -> dict[str, str]:
        if connection.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sessions'"
        return {name: sql or "" for name, sql in connection.execute(text(query))}

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(definitions)
    finally:
        await engine.dispose()
    for name, where in PARTIAL.items():
        # PostgreSQL gives the condition back in parentheses.
        unbracketed = found[name].replace("(", "").replace(")", "")
        assert unbracketed.endswith(f" WHERE {where}"), found[name]
    assert " WHERE " not in found["ix_sessions_user_id"]
