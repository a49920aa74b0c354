"""Partial indexes over live sessions (listing pages, the per-user cap, the gauge, the purge of
expired ones), and the revoked_at index narrowed to revoked sessions, so that a planner looking
for live sessions never takes it for a scan of every row not revoked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

LIVE = sa.text("revoked_at IS NULL")
REVOKED = sa.text("revoked_at IS NOT NULL")


# Name, columns, and the rows each covers.
PARTIAL_INDEXES = (
    ("ix_sessions_revoked_at", ["revoked_at"], REVOKED),
    ("ix_sessions_live_by_user", ["user_id", "last_used_at", "id"], LIVE),
    ("ix_sessions_live_by_expiry", ["idle_expires_at", "absolute_expires_at", "revoked_at"], LIVE),
)


def upgrade() -> None:
    op.drop_index("ix_sessions_revoked_at", table_name="sessions")
    for name, columns, where in PARTIAL_INDEXES:
        op.create_index(name, "sessions", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _, _ in reversed(PARTIAL_INDEXES):
        op.drop_index(name, table_name="sessions")
    op.create_index("ix_sessions_revoked_at", "sessions", ["revoked_at"])
