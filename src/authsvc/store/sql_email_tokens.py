"""The e-mail tokens half of `SqlStore`: one-time tokens mailed to an address, kept hashed.

A token is used by one conditional UPDATE (`used_at IS NULL AND expires_at > now`), so of
two requests presenting it at once exactly one gets it.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from authsvc.store.engine import Database
from authsvc.store.models import email_tokens, users
from authsvc.store.records import (
    CHANGE_EMAIL,
    PASSWORD_RESET,
    VERIFY_EMAIL,
    EmailChange,
    NewEmailToken,
)
from authsvc.store.sql_users import LIVE_USER

_TOK = email_tokens.c
_TOKEN_FIELDS = (
    _TOK.user_id,
    _TOK.purpose,
    _TOK.email,
    _TOK.token_hash,
    _TOK.created_at,
    _TOK.expires_at,
)


def _live(token_hash: str, purpose: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        _TOK.token_hash == token_hash,
        _TOK.purpose == purpose,
        _TOK.used_at.is_(None),
        _TOK.expires_at > now,
    )


async def use_token(
    conn: AsyncConnection, token_hash: str, *, purpose: str, now: datetime
) -> NewEmailToken | None:
    """Mark a live token used inside the caller's transaction: the token as issued."""
    row = (
        await conn.execute(
            update(email_tokens)
            .where(*_live(token_hash, purpose, now))
            .values(used_at=now)
            .returning(*_TOKEN_FIELDS)
        )
    ).first()
    return NewEmailToken(**row._mapping) if row is not None else None


class SqlEmailTokenStore:
    """One method, one transaction."""

    _db: Database

    async def issue_email_token(self, token: NewEmailToken) -> None:
        async with self._db.write() as conn:
            # A newer token replaces every earlier one: only the latest mail's link works.
            await conn.execute(
                delete(email_tokens).where(
                    _TOK.user_id == token.user_id, _TOK.purpose == token.purpose
                )
            )
            await conn.execute(insert(email_tokens).values(id=str(uuid.uuid4()), **asdict(token)))

    async def verify_email(self, token_hash: str, *, now: datetime) -> str | None:
        async with self._db.write() as conn:
            used = await use_token(conn, token_hash, purpose=VERIFY_EMAIL, now=now)
            if used is None:
                return None
            # Only the address the token was sent to: one changed since stays unverified.
            result = await conn.execute(
                update(users)
                .where(users.c.id == used.user_id, users.c.email == used.email)
                .values(email_verified_at=now)
            )
        return used.user_id if result.rowcount else None

    async def find_email_token(
        self, token_hash: str, *, purpose: str, now: datetime
    ) -> NewEmailToken | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(*_TOKEN_FIELDS).where(*_live(token_hash, purpose, now)))
            ).first()
        return NewEmailToken(**row._mapping) if row is not None else None

    async def reset_password(
        self, token_hash: str, password_hash: str, *, now: datetime
    ) -> str | None:
        async with self._db.write() as conn:
            used = await use_token(conn, token_hash, purpose=PASSWORD_RESET, now=now)
            if used is None:
                return None
            # A password change (by the user, an administrator or another reset) since the
            # token was issued ends it, and so does a new address: the link went to the old.
            account = (
                users.c.id == used.user_id,
                users.c.email == used.email,
                users.c.password_changed_at <= used.created_at,
                users.c.disabled_at.is_(None),
                LIVE_USER,
            )
            changed = await conn.execute(
                update(users)
                .where(*account)
                .values(password_hash=password_hash, password_changed_at=now)
            )
            if not changed.rowcount:
                return None
            # The mail reached the address, which proves it is the holder's.
            await conn.execute(
                update(users)
                .where(users.c.id == used.user_id, users.c.email_verified_at.is_(None))
                .values(email_verified_at=now)
            )
        return used.user_id

    async def change_email(self, token_hash: str, *, now: datetime) -> EmailChange | None:
        async with self._db.write() as conn:
            used = await use_token(conn, token_hash, purpose=CHANGE_EMAIL, now=now)
            if used is None:
                return None
            before = (
                await conn.execute(
                    select(users.c.username, users.c.email)
                    .where(users.c.id == used.user_id, LIVE_USER)
                    .with_for_update()
                )
            ).first()
            if before is None:
                return None
            await conn.execute(
                update(users)
                .where(users.c.id == used.user_id)
                .values(email=used.email, email_verified_at=now)
            )
        return EmailChange(
            user_id=used.user_id, username=before.username, previous=before.email, email=used.email
        )
