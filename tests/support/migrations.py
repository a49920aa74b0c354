"""A SQLite file brought to a given schema revision, as an older release left it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine

from authsvc.store.migrate import _config


def upgrade_sqlite_to(url: str, revision: str) -> None:
    """Migrate the database at `url` (a synchronous SQLite URL) up to `revision`."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
