"""The mail outbox half of `SqlStore`: enqueue, claim under a lease, and settle.

A claim is one statement: an UPDATE of the rows picked by a subquery, RETURNING them. On
PostgreSQL the subquery locks its rows `FOR UPDATE SKIP LOCKED`, so replicas claiming at once
take disjoint batches without waiting for each other; on SQLite the UPDATE runs under the
database's one write lock (BEGIN IMMEDIATE), so claims are serialised and SQLite's compiler
leaves the locking clause out. Either way a mail is held by one sender until its lease ends.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update

from authsvc.store.engine import Database
from authsvc.store.models import mail_outbox
from authsvc.store.records import NewMail, OutboxMail

_OUT = mail_outbox.c


class SqlOutboxStore:
    """One method, one transaction."""

    _db: Database

    async def enqueue_mail(self, mail: NewMail) -> str:
        mail_id = str(uuid.uuid4())
        async with self._db.write() as conn:
            await conn.execute(
                insert(mail_outbox).values(
                    id=mail_id, attempts=0, next_attempt_at=mail.created_at, **asdict(mail)
                )
            )
        return mail_id

    async def claim_mails(
        self, *, claimer: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMail]:
        due = (
            select(_OUT.id)
            .where(
                _OUT.next_attempt_at <= now,
                _OUT.expires_at > now,
                or_(_OUT.claimed_until.is_(None), _OUT.claimed_until < now),
            )
            .order_by(_OUT.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(mail_outbox)
            .where(_OUT.id.in_(due.scalar_subquery()))
            .values(claimed_by=claimer, claimed_until=lease_until, attempts=_OUT.attempts + 1)
            .returning(
                _OUT.id,
                _OUT.kind,
                _OUT.recipient,
                _OUT.subject,
                _OUT.text_body,
                _OUT.html_body,
                _OUT.created_at,
                _OUT.attempts,
            )
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(claim)).all()
        mails = [OutboxMail(**row._mapping) for row in rows]
        return sorted(mails, key=lambda mail: mail.created_at)

    async def mail_sent(self, mail_id: str, *, claimer: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(mail_outbox).where(_OUT.id == mail_id, _OUT.claimed_by == claimer)
            )
        return bool(result.rowcount)

    async def mail_failed(
        self, mail_id: str, *, claimer: str, error: str, retry_at: datetime | None
    ) -> bool:
        held = (_OUT.id == mail_id, _OUT.claimed_by == claimer)
        async with self._db.write() as conn:
            if retry_at is None:
                result = await conn.execute(delete(mail_outbox).where(*held))
            else:
                result = await conn.execute(
                    update(mail_outbox)
                    .where(*held)
                    .values(
                        claimed_by=None,
                        claimed_until=None,
                        next_attempt_at=retry_at,
                        last_error=error[:200],
                    )
                )
        return bool(result.rowcount)

    async def drop_expired_mails(self, *, now: datetime) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(mail_outbox).where(_OUT.expires_at <= now))
        return result.rowcount

    async def oldest_pending_mail(self) -> datetime | None:
        async with self._db.read() as conn:
            oldest: datetime | None = await conn.scalar(select(func.min(_OUT.created_at)))
        return oldest
