"""The administrators' half of the users table: search, change and delete accounts.

Every change that could take a role from an account holds one lock for its transaction
(PostgreSQL: an advisory lock; SQLite: its one write transaction), so two administrators
demoting each other at once are serialised, and the second sees that the first left only
itself: the last enabled holder of the guarded role keeps it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from authsvc.errors import LastAdmin
from authsvc.store.engine import Database
from authsvc.store.models import (
    mfa_challenges,
    passkeys,
    recovery_codes,
    sessions,
    totp_credentials,
    users,
)
from authsvc.store.records import KEEP, UserChanges, UserRecord, UserUpdate
from authsvc.store.sql_users import LIVE_USER, encode_roles, user_record

# An arbitrary constant naming the lock of role and status changes among advisory locks.
ACCOUNTS_LOCK_KEY = 0x61757468616468
# What a deleted account's password hash becomes: no argon2 hash, so nothing verifies.
UNUSABLE_HASH = "!"


def _holds(role: str) -> ColumnElement[bool]:
    # Roles are stored space-separated: padded, a name is found only whole.
    return (literal(" ") + users.c.roles + literal(" ")).contains(f" {role} ", autoescape=True)


def changed_values(user: UserRecord, changes: UserChanges, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if changes.roles is not KEEP:
        values["roles"] = encode_roles(changes.roles)
    if changes.disabled is not KEEP:
        if not changes.disabled:
            values["disabled_at"] = None
        elif user.disabled_at is None:
            values["disabled_at"] = now
    if changes.email is not KEEP and changes.email != user.email:
        values["email"] = changes.email
        values["email_verified_at"] = None  # a new address is not verified yet
    if changes.email_verified is not KEEP:
        keep_time = user.email_verified_at is not None and "email_verified_at" not in values
        verified_at = user.email_verified_at if keep_time else now
        # No address, nothing verified: the flag cannot outlive the address it was about.
        has_email = values.get("email", user.email) is not None
        values["email_verified_at"] = verified_at if changes.email_verified and has_email else None
    return values


class SqlUserAdminStore:
    """One method, one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def search_users(
        self, *, query: str | None, limit: int, after: str | None = None
    ) -> list[UserRecord]:
        statement = select(users).where(LIVE_USER).order_by(users.c.username).limit(limit)
        if query:
            statement = statement.where(
                users.c.username.contains(query.casefold(), autoescape=True)
                | func.lower(users.c.email).contains(query.lower(), autoescape=True)
            )
        if after is not None:
            statement = statement.where(users.c.username > after)
        async with self._db.read() as conn:
            rows = await conn.execute(statement)
        return [user_record(row._mapping) for row in rows]

    async def update_user(
        self, user_id: str, changes: UserChanges, *, now: datetime, keep_holder_of: str
    ) -> UserUpdate | None:
        async with self._db.write() as conn:
            before = await self._locked_user(conn, user_id)
            if before is None:
                return None
            values = changed_values(before, changes, now)
            loses_role = changes.roles is not KEEP and keep_holder_of not in changes.roles
            if loses_role or values.get("disabled_at") is not None:
                await self._refuse_last_holder(conn, before, keep_holder_of)
            if values:
                await conn.execute(update(users).where(users.c.id == user_id).values(**values))
            revoked = []
            if before.disabled_at is None and values.get("disabled_at") is not None:
                revoked = await self._end_sessions(conn, user_id, reason="user_disabled", now=now)
            after = user_record(
                (await conn.execute(select(users).where(users.c.id == user_id))).one()._mapping
            )
        return UserUpdate(before=before, after=after, revoked=revoked)

    async def delete_user(
        self, user_id: str, *, now: datetime, keep_holder_of: str
    ) -> list[str] | None:
        async with self._db.write() as conn:
            user = await self._locked_user(conn, user_id)
            if user is None:
                return None
            await self._refuse_last_holder(conn, user, keep_holder_of)
            revoked = await self._end_sessions(conn, user_id, reason="user_deleted", now=now)
            # Scrubbed rather than deleted: deleting would cascade to the revoked sessions,
            # and a replica started afterwards reloads revocations from exactly those rows.
            # The name and its skeleton are freed for a new account at once.
            await conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(
                    username=f"~deleted~{user_id}",  # "~" is in no valid username
                    username_skeleton=None,
                    email=None,
                    email_verified_at=None,
                    password_hash=UNUSABLE_HASH,
                    roles="",
                    disabled_at=user.disabled_at or now,
                    deleted_at=now,
                )
            )
            # Second factors are the account's data too: a TOTP secret outlives nothing, and
            # no passkey may open a session for the account again.
            for table in (totp_credentials, recovery_codes, mfa_challenges, passkeys):
                await conn.execute(delete(table).where(table.c.user_id == user_id))
        return revoked

    async def _locked_user(self, conn: AsyncConnection, user_id: str) -> UserRecord | None:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACCOUNTS_LOCK_KEY}
            )
        row = (await conn.execute(select(users).where(users.c.id == user_id, LIVE_USER))).first()
        return user_record(row._mapping) if row else None

    async def _refuse_last_holder(self, conn: AsyncConnection, user: UserRecord, role: str) -> None:
        """Raises: LastAdmin when `user` is the only enabled account holding `role`."""
        if role not in user.roles or user.disabled_at is not None:
            return
        others = await conn.scalar(
            select(func.count())
            .select_from(users)
            .where(users.c.id != user.id, LIVE_USER, users.c.disabled_at.is_(None), _holds(role))
        )
        if not others:
            raise LastAdmin

    async def _end_sessions(
        self, conn: AsyncConnection, user_id: str, *, reason: str, now: datetime
    ) -> list[str]:
        result = await conn.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .returning(sessions.c.id)
        )
        return [row.id for row in result]
