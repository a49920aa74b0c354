"""The audit log read back: a user's own activity, or (for administrators) everyone's."""

from __future__ import annotations

from dataclasses import dataclass

from authsvc.events import EventKind
from authsvc.services.cursors import decode_event_cursor, encode_event_cursor
from authsvc.store.base import AuditStore
from authsvc.store.records import AuditRecord


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditRecord]
    next_cursor: str | None  # None on the last page


class AuditService:
    def __init__(self, *, store: AuditStore) -> None:
        self._store = store

    async def list_events(
        self,
        *,
        subject_id: str | None,
        kind: EventKind | None = None,
        limit: int,
        cursor: str | None = None,
    ) -> AuditPage:
        """One page of audit events, newest first: those about `subject_id`, or all of them
        when None (an administrator's view; the caller decides who may ask); only those of
        `kind` when given. A cursor continues the same filters' list.

        Raises: InvalidCursor.
        """
        before = decode_event_cursor(cursor) if cursor is not None else None
        # One row more than asked tells whether another page follows.
        records = await self._store.list_audit_events(
            subject_id=subject_id, kind=kind, limit=limit + 1, before=before
        )
        page = records[:limit]
        has_more = len(records) > limit
        return AuditPage(page, encode_event_cursor(page[-1].id) if has_more else None)
