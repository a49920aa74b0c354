"""The e-mail tokens half of `SqlStore`: one-time tokens mailed to an address, kept hashed.

A token is used by one conditional UPDATE (`used_at IS NULL AND expires_at > now`), so of
two requests presenting it at once exactly one gets it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from authsvc.store.engine import Database
from authsvc.store.models import email_tokens, users
from authsvc.store.records import VERIFY_EMAIL, NewEmailToken

_TOK = email_tokens.c


async def use_token(
    conn: AsyncConnection, token_hash: str, *, purpose: str, now: datetime
) -> tuple[str, str] | None:
    """Mark a live token used inside the caller's transaction: its (user id, address)."""
    row = (
        await conn.execute(
            update(email_tokens)
            .where(
                _TOK.token_hash == token_hash,
                _TOK.purpose == purpose,
                _TOK.used_at.is_(None),
                _TOK.expires_at > now,
            )
            .values(used_at=now)
            .returning(_TOK.user_id, _TOK.email)
        )
    ).first()
    return (row.user_id, row.email) if row is not None else None


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
            await conn.execute(
                insert(email_tokens).values(
                    id=str(uuid.uuid4()),
                    user_id=token.user_id,
                    purpose=token.purpose,
                    email=token.email,
                    token_hash=token.token_hash,
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                )
            )

    async def verify_email(self, token_hash: str, *, now: datetime) -> str | None:
        async with self._db.write() as conn:
            used = await use_token(conn, token_hash, purpose=VERIFY_EMAIL, now=now)
            if used is None:
                return None
            user_id, email = used
            # Only the address the token was sent to: one changed since stays unverified.
            result = await conn.execute(
                update(users)
                .where(users.c.id == user_id, users.c.email == email)
                .values(email_verified_at=now)
            )
        return user_id if result.rowcount else None
