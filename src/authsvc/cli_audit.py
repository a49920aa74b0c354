"""`authsvc audit …`: the audit log's commands, added to the parser by cli.py."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from authsvc.container import Core

# Opens the store the command works on, reporting any failure as one line (cli.py's).
OpenCore = Callable[[], AbstractAsyncContextManager[Core]]


def add_audit_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], open_core: OpenCore
) -> None:
    audit = commands.add_parser("audit", help="manage the audit log").add_subparsers(
        dest="audit_command", required=True, metavar="COMMAND"
    )
    audit.add_parser(
        "purge", help="delete audit events older than AUDIT_RETENTION_DAYS"
    ).set_defaults(run=lambda _: print(asyncio.run(_purge(open_core))))


async def _purge(open_core: OpenCore) -> str:
    async with open_core() as core:
        deleted = await core.audit_purger.purge()
    if deleted is None:
        return "another process is purging the audit log right now; nothing done"
    return f"deleted {deleted} audit events"
