"""The second-factor half of `SqlStore`: TOTP credentials, recovery codes, login challenges.
A passkey's proof is spent by the passkey store (sql_passkeys.py) when it is verified.

Every "once" is one conditional UPDATE: a time step is accepted only above the last one
accepted, a recovery code only while unused, a challenge only while unused, unexpired and
under its failure limit. On PostgreSQL a concurrent UPDATE of the same row waits for the
first and re-checks its condition against the row the first left, so of two replicas
presenting the same code exactly one gets a row back; SQLite has one writer at a time.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from authsvc.store.driver_reads import DriverReads
from authsvc.store.engine import Database
from authsvc.store.factor_records import (
    ChallengeOutcome,
    FactorProof,
    MfaChallenge,
    NewMfaChallenge,
    PasskeyAssertion,
    TotpRecord,
    TotpStep,
)
from authsvc.store.mfa_base import FactorCounts
from authsvc.store.models import mfa_challenges, passkeys, recovery_codes, totp_credentials

_TOTP = totp_credentials.c
_CODES = recovery_codes.c
_CHALLENGES = mfa_challenges.c

# Both kinds in one statement: a login asks whether the account holds any second factor, and
# two reads cost twice the trips of one.
_OWNER: BindParameter[str] = bindparam("user_id")
_FACTOR_COUNTS = select(
    select(func.count())
    .select_from(totp_credentials)
    .where(_TOTP.user_id == _OWNER, _TOTP.confirmed_at.is_not(None))
    .scalar_subquery(),
    select(func.count())
    .select_from(passkeys)
    .where(passkeys.c.user_id == _OWNER)
    .scalar_subquery(),
)


class _Refused(Exception):
    """Rolls back a challenge's claim when its proof is not accepted."""


async def consume(conn: AsyncConnection, user_id: str, proof: FactorProof, now: datetime) -> bool:
    """Accept a proof inside the caller's transaction; False when it was used already."""
    if isinstance(proof, PasskeyAssertion):
        # Its challenge and counter were spent when it was verified; what is left to check
        # is that the passkey is still the account's (an administrator's reset meanwhile).
        owned = await conn.scalar(
            select(func.count())
            .select_from(passkeys)
            .where(passkeys.c.id == proof.passkey_id, passkeys.c.user_id == user_id)
        )
        return bool(owned)
    if isinstance(proof, TotpStep):
        statement = (
            update(totp_credentials)
            .where(
                _TOTP.user_id == user_id,
                _TOTP.confirmed_at.is_not(None),
                or_(_TOTP.last_step.is_(None), _TOTP.last_step < proof.step),
            )
            .values(last_step=proof.step)
        )
    else:
        statement = (
            update(recovery_codes)
            .where(
                _CODES.user_id == user_id,
                _CODES.code_hash == proof.code_hash,
                _CODES.used_at.is_(None),
            )
            .values(used_at=now)
        )
    return bool((await conn.execute(statement)).rowcount)


async def _consume_or_refuse(
    conn: AsyncConnection, user_id: str, proof: FactorProof, now: datetime
) -> None:
    """Raises: _Refused, to roll back the caller's transaction."""
    if not await consume(conn, user_id, proof, now):
        raise _Refused


class SqlMfaStore:
    """One method, one transaction."""

    _db: Database

    def __init__(self, reads: DriverReads) -> None:
        # The hot read of a login (does the account hold a second factor?) on the driver.
        self._factor_reads = reads
        self._factor_counts = reads.query(_FACTOR_COUNTS)

    async def begin_totp(self, user_id: str, sealed_secret: str, *, now: datetime) -> bool:
        async with self._db.write() as conn:
            current = (
                await conn.execute(select(_TOTP.confirmed_at).where(_TOTP.user_id == user_id))
            ).first()
            if current is not None and current.confirmed_at is not None:
                return False
            # A new setup replaces one never confirmed: only the latest QR code works.
            await conn.execute(delete(totp_credentials).where(_TOTP.user_id == user_id))
            await conn.execute(
                insert(totp_credentials).values(
                    user_id=user_id, sealed_secret=sealed_secret, created_at=now
                )
            )
        return True

    async def get_totp(self, user_id: str) -> TotpRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(totp_credentials).where(_TOTP.user_id == user_id))
            ).first()
        return TotpRecord(**row._mapping) if row is not None else None

    async def count_factors(self, user_id: str) -> FactorCounts:
        row = await self._factor_reads.row(self._factor_counts, {"user_id": user_id})
        totp, keys = row if row is not None else (0, 0)
        return FactorCounts(totp=int(totp), passkeys=int(keys))

    async def confirm_totp(
        self,
        user_id: str,
        *,
        sealed_secret: str,
        step: int,
        recovery_hashes: list[str],
        now: datetime,
    ) -> bool:
        async with self._db.write() as conn:
            confirmed = await conn.execute(
                update(totp_credentials)
                .where(
                    _TOTP.user_id == user_id,
                    _TOTP.sealed_secret == sealed_secret,
                    _TOTP.confirmed_at.is_(None),
                )
                .values(confirmed_at=now, last_step=step)
            )
            if not confirmed.rowcount:
                return False
            await conn.execute(delete(recovery_codes).where(_CODES.user_id == user_id))
            await conn.execute(
                insert(recovery_codes),
                [{"user_id": user_id, "code_hash": digest} for digest in recovery_hashes],
            )
        return True

    async def use_factor(self, user_id: str, proof: FactorProof, *, now: datetime) -> bool:
        async with self._db.write() as conn:
            return await consume(conn, user_id, proof, now)

    async def delete_totp(self, user_id: str) -> bool:
        async with self._db.write() as conn:
            await conn.execute(delete(recovery_codes).where(_CODES.user_id == user_id))
            deleted = await conn.execute(delete(totp_credentials).where(_TOTP.user_id == user_id))
        return bool(deleted.rowcount)

    async def recovery_codes_left(self, user_id: str) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(recovery_codes)
                .where(_CODES.user_id == user_id, _CODES.used_at.is_(None))
            )
        return int(count or 0)

    async def sealed_totp_secrets(self) -> list[tuple[str, str]]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(_TOTP.user_id, _TOTP.sealed_secret).order_by(_TOTP.user_id)
            )
            return [(row.user_id, row.sealed_secret) for row in rows]

    async def reseal_totp(self, user_id: str, *, old: str, new: str) -> bool:
        async with self._db.write() as conn:
            # Over the value read only: a setup meanwhile wrote a fresh secret under the
            # current key, which must not be overwritten with the old one.
            changed = await conn.execute(
                update(totp_credentials)
                .where(_TOTP.user_id == user_id, _TOTP.sealed_secret == old)
                .values(sealed_secret=new)
            )
        return bool(changed.rowcount)

    async def create_mfa_challenge(self, challenge: NewMfaChallenge) -> None:
        async with self._db.write() as conn:
            # Housekeeping on the way: expired challenges are worthless.
            await conn.execute(
                delete(mfa_challenges).where(_CHALLENGES.expires_at <= challenge.created_at)
            )
            await conn.execute(insert(mfa_challenges).values(**asdict(challenge)))

    async def live_mfa_challenge(
        self, token_hash: str, *, now: datetime, max_failures: int
    ) -> MfaChallenge | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(mfa_challenges).where(*_live(token_hash, now, max_failures))
                )
            ).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values.pop("used_at")
        return MfaChallenge(**values)

    async def fail_mfa_challenge(self, token_hash: str, *, now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(mfa_challenges)
                .where(_CHALLENGES.token_hash == token_hash, _CHALLENGES.used_at.is_(None))
                .values(failures=_CHALLENGES.failures + 1)
            )

    async def complete_mfa_challenge(
        self, token_hash: str, proof: FactorProof, *, now: datetime, max_failures: int
    ) -> ChallengeOutcome:
        try:
            async with self._db.write() as conn:
                claimed = (
                    await conn.execute(
                        update(mfa_challenges)
                        .where(*_live(token_hash, now, max_failures))
                        .values(used_at=now)
                        .returning(_CHALLENGES.user_id)
                    )
                ).first()
                if claimed is None:
                    return ChallengeOutcome.UNUSABLE
                await _consume_or_refuse(conn, claimed.user_id, proof, now)
        except _Refused:
            # Rolled back: the challenge stays open for another code, up to its limit.
            return ChallengeOutcome.REFUSED
        return ChallengeOutcome.COMPLETED


def _live(token_hash: str, now: datetime, max_failures: int) -> tuple[ColumnElement[bool], ...]:
    return (
        _CHALLENGES.token_hash == token_hash,
        _CHALLENGES.used_at.is_(None),
        _CHALLENGES.expires_at > now,
        _CHALLENGES.failures < max_failures,
    )
