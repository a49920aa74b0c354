"""Usernames' confusable skeletons (Unicode TR39), unique, so a look-alike name is taken."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from authsvc.usernames import username_skeleton

revision = "0002"
down_revision = "0001"

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_skeleton", sa.String(256), nullable=True))
    _backfill()
    op.create_index("uq_users_username_skeleton", "users", ["username_skeleton"], unique=True)


def _backfill() -> None:
    """Give every existing user its skeleton, oldest account first.

    A database may already hold look-alikes of each other (registered before this check): the
    oldest keeps the skeleton and so blocks new look-alikes; the younger ones keep working,
    with no skeleton of their own (NULLs do not collide in a unique index).
    """
    users = sa.table(
        "users",
        sa.column("id", sa.String),
        sa.column("username", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("username_skeleton", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(users.c.id, users.c.username).order_by(users.c.created_at, users.c.id)
    ).all()
    seen: set[str] = set()
    updates = []
    for user_id, username in rows:
        skeleton = username_skeleton(username)
        if skeleton in seen:
            continue
        seen.add(skeleton)
        updates.append({"user_id": user_id, "skeleton": skeleton})
    statement = (
        sa.update(users)
        .where(users.c.id == sa.bindparam("user_id"))
        .values(username_skeleton=sa.bindparam("skeleton"))
    )
    for start in range(0, len(updates), BATCH):
        bind.execute(statement, updates[start : start + BATCH])


def downgrade() -> None:
    op.drop_index("uq_users_username_skeleton", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("username_skeleton")
