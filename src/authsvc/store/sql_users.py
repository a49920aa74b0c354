"""The users half of `SqlStore`: accounts, password hashes and the profiles shown to them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from authsvc.errors import UsernameTaken
from authsvc.store.driver_reads import DriverReads, driver_reads
from authsvc.store.engine import Database
from authsvc.store.models import users
from authsvc.store.records import UserProfile, UserRecord
from authsvc.usernames import username_skeleton

# Accounts not deleted: a deleted account's row waits, scrubbed, for the purge (models.py).
LIVE_USER = users.c.deleted_at.is_(None)


def user_record(row: Mapping[str, Any] | RowMapping) -> UserRecord:
    """A users row as the domain sees it."""
    return UserRecord(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        password_changed_at=row["password_changed_at"],
        roles=decode_roles(row.get("roles")),
        disabled_at=row.get("disabled_at"),
        email_verified_at=row.get("email_verified_at"),
    )


def encode_roles(roles: tuple[str, ...]) -> str:
    return " ".join(sorted(set(roles)))


def decode_roles(stored: str | None) -> tuple[str, ...]:
    return tuple(stored.split()) if stored else ()


def users_by_email_statement(email: str) -> Select[Any]:
    """Live accounts with this address in any letter case, through ix_users_email_lower."""
    # lower() on both sides: SQLite's folds ASCII only, which is what the contract asks.
    return (
        select(users)
        .where(LIVE_USER, func.lower(users.c.email) == email.lower())
        .order_by(users.c.username)
    )


# Built once: every login reads its account by name, and `/auth/me` a profile on every call;
# composing a query anew costs more CPU than running it. Both run on the driver itself
# (driver_reads.py).
# What a UserRecord holds.
_ACCOUNT = (
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.password_hash,
    users.c.created_at,
    users.c.password_changed_at,
    users.c.roles,
    users.c.disabled_at,
    users.c.email_verified_at,
)
_BY_USERNAME = select(*_ACCOUNT).where(users.c.username == bindparam("username"))
_PROFILE = select(
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.created_at,
    users.c.roles,
    users.c.email_verified_at,
).where(users.c.id == bindparam("user_id"), LIVE_USER)


class SqlUserStore:
    """One method, one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # The hot reads (a login's account, `/auth/me`'s profile), one hop or round trip each.
        self._reads: DriverReads = driver_reads(db)
        self._by_username = self._reads.query(_BY_USERNAME)
        self._profile = self._reads.query(_PROFILE)

    async def create_user(
        self, *, username: str, email: str | None, password_hash: str, now: datetime
    ) -> UserRecord:
        values = {
            "id": str(uuid.uuid4()),
            "username": username,
            "username_skeleton": username_skeleton(username),
            "email": email,
            "password_hash": password_hash,
            "created_at": now,
            "password_changed_at": now,
        }
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(users).values(**values))
        except IntegrityError as exc:
            raise UsernameTaken(username) from exc
        return user_record(values)

    async def is_username_taken(self, username: str) -> bool:
        query = select(users.c.id).where(
            or_(
                users.c.username == username,
                users.c.username_skeleton == username_skeleton(username),
            )
        )
        async with self._db.read() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def get_user(self, user_id: str) -> UserRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(users).where(users.c.id == user_id, LIVE_USER))
            ).first()
        return user_record(row._mapping) if row else None

    async def get_profile(self, user_id: str) -> UserProfile | None:
        # Read afresh every time (a cache, if any, sits above the store): roles and e-mail
        # change, possibly through another replica.
        row = await self._reads.row(self._profile, {"user_id": user_id})
        if row is None:
            return None
        id_, username, email, created_at, roles, email_verified_at = row
        return UserProfile(
            id=id_,
            username=username,
            email=email,
            created_at=created_at,
            roles=decode_roles(roles),
            email_verified_at=email_verified_at,
        )

    async def close_reads(self) -> None:
        await self._reads.close()

    async def get_user_by_username(self, username: str) -> UserRecord | None:
        row = await self._reads.row(self._by_username, {"username": username})
        return None if row is None else user_record(self._by_username.named(row))

    async def list_users(self) -> list[UserRecord]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(users).where(LIVE_USER).order_by(users.c.username))
        return [user_record(row._mapping) for row in rows]

    async def users_by_email(self, email: str) -> list[UserRecord]:
        async with self._db.read() as conn:
            rows = await conn.execute(users_by_email_statement(email))
        return [user_record(row._mapping) for row in rows]

    async def set_password_hash(
        self,
        user_id: str,
        password_hash: str,
        *,
        expected_hash: str | None = None,
        changed_at: datetime | None,
    ) -> bool:
        values: dict[str, Any] = {"password_hash": password_hash}
        if changed_at is not None:
            values["password_changed_at"] = changed_at
        statement = update(users).where(users.c.id == user_id)
        if expected_hash is not None:
            statement = statement.where(users.c.password_hash == expected_hash)
        async with self._db.write() as conn:
            result = await conn.execute(statement.values(**values))
        return bool(result.rowcount)
