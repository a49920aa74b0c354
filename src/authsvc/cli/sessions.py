"""`authsvc sessions purge`: delete ended sessions now, for deployments that purge from cron."""

from __future__ import annotations

import argparse
import asyncio

from authsvc.cli.base import Commands, database, load_settings
from authsvc.settings import Settings


def add_commands(commands: Commands) -> None:
    sessions = commands.add_parser("sessions", help="manage sessions").add_subparsers(
        dest="sessions_command", required=True, metavar="COMMAND"
    )
    sessions.add_parser(
        "purge", help="delete sessions ended longer ago than SESSION_RETENTION_SECONDS"
    ).set_defaults(run=_sessions_purge)


async def _purge_sessions(settings: Settings) -> str:
    async with database(settings) as core:
        deleted = await core.purger.purge()
    if deleted is None:
        return "another process is purging sessions right now; nothing done"
    return f"deleted {deleted} ended sessions"


def _sessions_purge(_: argparse.Namespace) -> None:
    print(asyncio.run(_purge_sessions(load_settings(signs_tokens=False))))
