"""Sessions keep the authentication methods they were opened with (RFC 8176 `amr`)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        # Space-separated method names; every session before this one was opened by password.
        batch.add_column(sa.Column("amr", sa.String(64), nullable=False, server_default="pwd"))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("amr")
