"""`authsvc audit purge`: delete audit events past their retention now, for cron."""

from __future__ import annotations

import argparse
import asyncio

from authsvc.cli.base import Commands, database, load_settings
from authsvc.settings import Settings


def add_commands(commands: Commands) -> None:
    audit = commands.add_parser("audit", help="manage the audit log").add_subparsers(
        dest="audit_command", required=True, metavar="COMMAND"
    )
    audit.add_parser(
        "purge", help="delete audit events older than AUDIT_RETENTION_DAYS"
    ).set_defaults(run=_audit_purge)


async def _purge_audit(settings: Settings) -> str:
    async with database(settings) as core:
        deleted = await core.audit_purger.purge()
    if deleted is None:
        return "another process is purging the audit log right now; nothing done"
    return f"deleted {deleted} audit events"


def _audit_purge(_: argparse.Namespace) -> None:
    print(asyncio.run(_purge_audit(load_settings(signs_tokens=False))))
