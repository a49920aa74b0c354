"""The audit half of `SqlStore`: append security events, read them newest first, purge old ones."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping

from authsvc.store.engine import Database
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


def _record(row: RowMapping) -> AuditRecord:
    values = {name: row[name] for name in _WRITTEN}
    return AuditRecord(**{**values, "details": _details(row["details"])}, id=row["id"])


class SqlAuditStore:
    """One method, one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append_audit_event(self, event: NewAuditEvent) -> None:
        values = {name: getattr(event, name) for name in _WRITTEN}
        values["details"] = (
            json.dumps(dict(event.details), separators=(",", ":")) if event.details else None
        )
        async with self._db.write() as conn:
            await conn.execute(insert(audit_events).values(**values))

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
