"""`authsvc audit purge`: delete audit events past their retention now, for cron."""

from __future__ import annotations

from authsvc.cli.base import Commands, add_purge_group


def add_commands(commands: Commands) -> None:
    add_purge_group(
        commands,
        "audit",
        help="manage the audit log",
        purge_help="delete audit events older than AUDIT_RETENTION_DAYS",
        purger=lambda core: core.audit_purger,
        rows="audit events",
        busy="the audit log",
    )
