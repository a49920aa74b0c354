"""The audit log read back: pages of one subject or of everyone, and the cursors between them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from authsvc.errors import InvalidCursor
from authsvc.services.audit import AuditService
from authsvc.services.cursors import decode_event_cursor, encode_event_cursor
from tests.support.fakes import InMemoryStore
from tests.support.records import audit_entry

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_pages_of_one_subject_and_of_everyone() -> None:
    store = InMemoryStore()
    for n in range(5):
        for subject in ("alice", "bob"):
            await store.append_audit_event(
                audit_entry(NOW + timedelta(seconds=n), subject=subject, count=n)
            )
    service = AuditService(store=store)

    first = await service.list_events(subject_id="alice", limit=2)
    second = await service.list_events(subject_id="alice", limit=2, cursor=first.next_cursor)
    last = await service.list_events(subject_id="alice", limit=2, cursor=second.next_cursor)
    everyone = await service.list_events(subject_id=None, limit=10)

    pages = [first, second, last]
    assert [[e.details["count"] for e in p.events] for p in pages] == [[4, 3], [2, 1], [0]]
    assert last.next_cursor is None
    assert {e.subject_id for p in pages for e in p.events} == {"alice"}
    assert len(everyone.events) == 10
    assert everyone.next_cursor is None


@pytest.mark.parametrize("event_id", [1, 42, 2**63 - 1])
def test_an_event_cursor_names_the_id_it_was_made_from(event_id: int) -> None:
    cursor = encode_event_cursor(event_id)

    assert decode_event_cursor(cursor) == event_id
    assert str(event_id) not in cursor  # opaque: clients are not invited to build one


@pytest.mark.parametrize(
    "cursor",
    ["", "e1", "ZTA", "ZS0x", "ZTAx", "A" * 129, encode_event_cursor(2**63)],
)
def test_anything_else_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_event_cursor(cursor)
