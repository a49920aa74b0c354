"""Account status: roles, when an account was disabled, when its e-mail address was verified."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        # Space-separated, sorted role names; empty for none.
        batch.add_column(sa.Column("roles", sa.String(1100), nullable=False, server_default=""))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
        batch.drop_column("disabled_at")
        batch.drop_column("roles")
