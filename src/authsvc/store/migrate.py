"""Schema migrations through Alembic, run programmatically on the service's own engine.

Alembic (with Mako and Pygments behind it) costs every process about 10 MiB once imported, and
a service starts against a schema at head almost every time. So the check at start reads the
`alembic_version` row itself and compares it with `HEAD_REVISION`; Alembic is imported only
when there is something to migrate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc.errors import StoreUnavailable
from authsvc.store.engine import UNAVAILABLE_ERRORS

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions, kept in step by hand: a test fails when a
# migration is added and this is not.
HEAD_REVISION = "0011"
# Alembic's own bookkeeping table: one row, the revision the schema is at.
VERSION_TABLE = "alembic_version"
# An arbitrary constant naming authsvc's migration lock among PostgreSQL advisory locks.
MIGRATION_LOCK_KEY = 0x61757468737663


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "authsvc.store:migrations")
    return config


def head_revision() -> str | None:
    """The head of the migration scripts as Alembic finds it (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the schema is at; None for an empty database (or, never on authsvc's
    linear history, several branch heads at once, which only Alembic can sort out)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608 (a constant)
    return rows[0] if len(rows) == 1 else None


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Bring the schema to head; a schema already there costs one read and no Alembic.

    Raises: StoreUnavailable when the database cannot be reached.
    """
    try:
        async with engine.connect() as conn:
            if await conn.run_sync(current_revision) == HEAD_REVISION:
                return
        # One write transaction: a second process migrating at the same time waits, then
        # finds the schema already at head.
        async with engine.connect() as conn:
            await conn.execution_options(authsvc_write=True)
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    # Replicas starting together take turns; SQLite's write lock does the same.
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                await conn.run_sync(_upgrade)
    except UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable("database unavailable") from exc
