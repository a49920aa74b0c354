"""`authsvc db upgrade`: apply pending schema migrations."""

from __future__ import annotations

import argparse
import asyncio

from authsvc.cli.base import Commands, database, load_settings
from authsvc.settings import Settings


def add_commands(commands: Commands) -> None:
    db = commands.add_parser("db", help="manage the database").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND"
    )
    upgrade = db.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.add_argument(
        "--create-dirs",
        action="store_true",
        help="create the missing directories of a SQLite DATABASE_URL "
        "(without it a missing directory is refused as a likely typo)",
    )
    upgrade.set_defaults(run=_db_upgrade)


async def _upgrade(settings: Settings, *, create_directories: bool) -> str:
    async with database(settings, migrate=True, create_directories=create_directories) as core:
        revision = await core.store.schema_revision()
    return f"database schema at revision {revision}"


def _db_upgrade(args: argparse.Namespace) -> None:
    settings = load_settings(signs_tokens=False)
    print(asyncio.run(_upgrade(settings, create_directories=args.create_dirs)))
