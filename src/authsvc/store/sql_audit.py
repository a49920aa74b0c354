"""The audit half of `SqlStore`: append security events, read them newest first, purge old ones."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import RowMapping

from authsvc.store.driver import Query, asyncpg_connection, on_asyncpg
from authsvc.store.engine import Database
from authsvc.store.group_commit import GroupCommitWriter, Steps
from authsvc.store.models import audit_events
from authsvc.store.purge import purge_old_audit_events
from authsvc.store.records import AuditDetail, AuditRecord, NewAuditEvent


def _details(raw: str | None) -> Mapping[str, AuditDetail]:
    if not raw:
        return {}
    loaded = json.loads(raw)
    return loaded if isinstance(loaded, dict) else {}


# Every column but the id, named as the record's fields are.
_WRITTEN = tuple(f.name for f in fields(NewAuditEvent))


# Built once: composing the insert anew cost more CPU than running it.
_INSERT = insert(audit_events)
# The drivers are given the written columns only, so the id comes from the database.
_DRIVER_INSERT = insert(audit_events).values(
    {name: bindparam(name, type_=audit_events.c[name].type) for name in _WRITTEN}
)
# A step reads its statement's first row back, so the step's insert returns one.
_INSERT_STEP = _DRIVER_INSERT.returning(audit_events.c.id)


def _insert_steps(values: dict[str, object]) -> Steps[None]:
    yield _INSERT_STEP, values


def _record(row: RowMapping) -> AuditRecord:
    values = {name: row[name] for name in _WRITTEN}
    return AuditRecord(**{**values, "details": _details(row["details"])}, id=row["id"])


class SqlAuditStore:
    """One method, one transaction."""

    def __init__(self, db: Database, group_commit: GroupCommitWriter | None = None) -> None:
        self._db = db
        # SQLite files: each row joins the batch of whatever else is queued (sessions being
        # opened, rotations), off the event loop (group_commit.py).
        self._audit_writer = group_commit
        # PostgreSQL on asyncpg: one INSERT, atomic by itself, committed on its own on the
        # driver: one round trip instead of BEGIN, INSERT and COMMIT through SQLAlchemy.
        self._audit_insert = Query(_DRIVER_INSERT, db.engine.dialect) if on_asyncpg(db) else None

    async def append_audit_event(self, event: NewAuditEvent) -> None:
        values = {name: getattr(event, name) for name in _WRITTEN}
        values["details"] = (
            json.dumps(dict(event.details), separators=(",", ":")) if event.details else None
        )
        if self._audit_writer is not None:
            await self._audit_writer.run(lambda: _insert_steps(values))
            return
        if self._audit_insert is not None:
            async with asyncpg_connection(self._db) as driver:
                await driver.execute(self._audit_insert.sql, *self._audit_insert.args(values))
            return
        async with self._db.write() as conn:
            await conn.execute(_INSERT, values)

    async def list_audit_events(
        self,
        *,
        subject_id: str | None = None,
        kind: str | None = None,
        limit: int,
        before: int | None = None,
    ) -> list[AuditRecord]:
        # Keyset pagination on the id: ix_audit_events_subject_id (or the primary key, for all
        # subjects) continues where the last page stopped.
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if subject_id is not None:
            query = query.where(audit_events.c.subject_id == subject_id)
        if kind is not None:
            # No index of its own: the id order is walked and filtered, as an administrator's
            # occasional look at one kind needs no more.
            query = query.where(audit_events.c.kind == kind)
        if before is not None:
            query = query.where(audit_events.c.id < before)
        async with self._db.read() as conn:
            rows = await conn.execute(query)
        return [_record(row._mapping) for row in rows]

    async def purge_audit_events(self, *, before: datetime, batch_size: int) -> int | None:
        return await purge_old_audit_events(
            self._db.engine, self._db.write, before=before, batch_size=batch_size
        )
