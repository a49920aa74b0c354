"""Partial indexes over live sessions (listing pages, the per-user cap, the gauge, the purge of
expired ones), and the revoked_at index narrowed to revoked sessions, so that a planner looking
for live sessions never takes it for a scan of every row not revoked.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = sa.text("revoked_at IS NULL")
REVOKED = sa.text("revoked_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_sessions_revoked_at", table_name="sessions")
    op.create_index(
        "ix_sessions_revoked_at",
        "sessions",
        ["revoked_at"],
        sqlite_where=REVOKED,
        postgresql_where=REVOKED,
    )
    op.create_index(
        "ix_sessions_live_by_user",
        "sessions",
        ["user_id", "last_used_at", "id"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_sessions_live_by_expiry",
        "sessions",
        ["idle_expires_at", "absolute_expires_at", "revoked_at"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_live_by_expiry", table_name="sessions")
    op.drop_index("ix_sessions_live_by_user", table_name="sessions")
    op.drop_index("ix_sessions_revoked_at", table_name="sessions")
    op.create_index("ix_sessions_revoked_at", "sessions", ["revoked_at"])
