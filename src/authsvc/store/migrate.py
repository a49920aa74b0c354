"""Schema migrations through Alembic, run programmatically on the service's own engine."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc.errors import StoreUnavailable
from authsvc.store.engine import UNAVAILABLE_ERRORS

# An arbitrary constant naming authsvc's migration lock among PostgreSQL advisory locks.
MIGRATION_LOCK_KEY = 0x61757468737663


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "authsvc.store:migrations")
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Bring the schema to head.

    Raises: StoreUnavailable when the database cannot be reached.
    """
    try:
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
