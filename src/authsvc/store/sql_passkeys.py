"""The passkeys half of `SqlStore`: registered credentials and the challenges of ceremonies.

A challenge is used by one conditional UPDATE (`used_at IS NULL AND expires_at > now`), so of
two requests answering it at once, on any replicas, exactly one gets it. A credential's
counter moves by one conditional UPDATE too, so it never goes backwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from authsvc.errors import PasskeyTaken
from authsvc.store.engine import Database
from authsvc.store.factor_records import NewChallenge, NewPasskey, PasskeyRecord, PasskeyRemoval
from authsvc.store.models import passkeys, users, webauthn_challenges
from authsvc.store.sql_users import LIVE_USER

_KEY = passkeys.c
_CH = webauthn_challenges.c
# More than one, so the expired rows shrink faster than logins add them.
EXPIRED_PER_INSERT = 10


def _record(row: Mapping[str, Any] | RowMapping) -> PasskeyRecord:
    return PasskeyRecord(
        id=row["id"],
        user_id=row["user_id"],
        credential_id=row["credential_id"],
        public_key=bytes(row["public_key"]),
        sign_count=row["sign_count"],
        transports=tuple(row["transports"].split()),
        aaguid=row["aaguid"],
        name=row["name"],
        backed_up=bool(row["backed_up"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
    )


class SqlPasskeyStore:
    """One method, one transaction."""

    _db: Database

    async def add_challenge(self, challenge: NewChallenge) -> None:
        async with self._db.write() as conn:
            # Expired challenges are worthless: a few go with each new one, so the table holds
            # about a TTL's worth of them. Rows another insert is deleting are skipped rather
            # than waited for: concurrent inserts never queue (or deadlock) on each other.
            expired = (
                select(_CH.id)
                .where(_CH.expires_at <= challenge.created_at)
                .limit(EXPIRED_PER_INSERT)
                .with_for_update(skip_locked=True)
            )
            await conn.execute(
                delete(webauthn_challenges).where(_CH.id.in_(expired.scalar_subquery()))
            )
            await conn.execute(insert(webauthn_challenges).values(**asdict(challenge)))

    async def use_challenge(
        self, challenge_id: str, *, purpose: str, user_id: str | None, now: datetime
    ) -> str | None:
        owner = _CH.user_id.is_(None) if user_id is None else _CH.user_id == user_id
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    update(webauthn_challenges)
                    .where(
                        _CH.id == challenge_id,
                        _CH.purpose == purpose,
                        owner,
                        _CH.used_at.is_(None),
                        _CH.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(_CH.challenge_hash)
                )
            ).first()
        return str(row.challenge_hash) if row is not None else None

    async def add_passkey(self, passkey: NewPasskey) -> PasskeyRecord:
        values = {
            "id": passkey.id,
            "user_id": passkey.user_id,
            "credential_id": passkey.credential_id,
            "public_key": passkey.public_key,
            "sign_count": passkey.sign_count,
            "transports": " ".join(passkey.transports),
            "aaguid": passkey.aaguid,
            "name": passkey.name,
            "backed_up": passkey.backed_up,
            "created_at": passkey.created_at,
        }
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(passkeys).values(**values))
        except IntegrityError as exc:
            raise PasskeyTaken from exc
        return PasskeyRecord(**asdict(passkey))

    async def list_passkeys(self, user_id: str) -> list[PasskeyRecord]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(passkeys).where(_KEY.user_id == user_id).order_by(_KEY.created_at, _KEY.id)
            )
        return [_record(row._mapping) for row in rows]

    async def find_passkey(self, credential_id: str) -> PasskeyRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(passkeys)
                    .join(users, users.c.id == _KEY.user_id)
                    .where(_KEY.credential_id == credential_id, LIVE_USER)
                )
            ).first()
        return _record(row._mapping) if row is not None else None

    async def rename_passkey(
        self, user_id: str, passkey_id: str, *, name: str
    ) -> PasskeyRecord | None:
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    update(passkeys)
                    .where(_KEY.id == passkey_id, _KEY.user_id == user_id)
                    .values(name=name)
                    .returning(*passkeys.c)
                )
            ).first()
        return _record(row._mapping) if row is not None else None

    async def remove_passkey(
        self, user_id: str, passkey_id: str, *, keep_last: bool
    ) -> PasskeyRemoval:
        async with self._db.write() as conn:
            # Locks the user's passkeys (PostgreSQL; SQLite writers take turns anyway): a
            # removal racing this one waits, then counts what is left.
            ids = set(
                (
                    await conn.execute(
                        select(_KEY.id).where(_KEY.user_id == user_id).with_for_update()
                    )
                ).scalars()
            )
            if passkey_id not in ids:
                return PasskeyRemoval.NOT_FOUND
            if keep_last and len(ids) == 1:
                return PasskeyRemoval.LAST
            await conn.execute(delete(passkeys).where(_KEY.id == passkey_id))
        return PasskeyRemoval.REMOVED

    async def remove_all_passkeys(self, user_id: str) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(passkeys).where(_KEY.user_id == user_id))
        return result.rowcount or 0

    async def passkey_used(
        self, passkey_id: str, *, sign_count: int, backed_up: bool, now: datetime
    ) -> bool:
        # W3C WebAuthn §6.1.1: 0 on both sides means the authenticator keeps no counter.
        forward = _KEY.sign_count == 0 if sign_count == 0 else _KEY.sign_count < sign_count
        async with self._db.write() as conn:
            result = await conn.execute(
                update(passkeys)
                .where(_KEY.id == passkey_id, forward)
                .values(sign_count=sign_count, backed_up=backed_up, last_used_at=now)
            )
        return bool(result.rowcount)
