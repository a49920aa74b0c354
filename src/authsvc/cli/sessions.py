"""`authsvc sessions purge`: delete ended sessions now, for deployments that purge from cron."""

from __future__ import annotations

from authsvc.cli.base import Commands, add_purge_group


def add_commands(commands: Commands) -> None:
    add_purge_group(
        commands,
        "sessions",
        help="manage sessions",
        purge_help="delete sessions ended longer ago than SESSION_RETENTION_SECONDS",
        purger=lambda core: core.purger,
        rows="ended sessions",
        busy="sessions",
    )
