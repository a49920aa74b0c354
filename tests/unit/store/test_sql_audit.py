"""The audit log in the SQL store, on SQLite and PostgreSQL: append, page newest first, purge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg  # type: ignore[import-untyped]
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from authsvc.store import Store, open_store
from authsvc.store.engine import create_engine
from authsvc.store.migrate import _config
from authsvc.store.purge import AUDIT_PURGE_LOCK_KEY
from authsvc.store.records import NewAuditEvent

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "bbbbbbbb-0000-4000-8000-000000000002"


def entry(subject: str, *, at: datetime = NOW, kind: str = "login_succeeded") -> NewAuditEvent:
    return NewAuditEvent(
        occurred_at=at,
        kind=kind,
        actor_id=subject,
        subject_id=subject,
        session_id="5e551011-0000-4000-8000-000000000003",
        ip="2001:db8::1",
        user_agent="Mozilla/5.0",
        details={"reason": "logout", "count": 2, "known_user": True},
    )


async def test_an_entry_reads_back_as_written(store: Store) -> None:
    await store.append_audit_event(entry(ALICE))

    [record] = await store.list_audit_events(subject_id=ALICE, limit=10)

    assert record.id >= 1
    assert (record.occurred_at, record.kind) == (NOW, "login_succeeded")
    assert (record.actor_id, record.subject_id) == (ALICE, ALICE)
    assert (record.session_id, record.ip, record.user_agent) == (
        "5e551011-0000-4000-8000-000000000003",
        "2001:db8::1",
        "Mozilla/5.0",
    )
    assert dict(record.details) == {"reason": "logout", "count": 2, "known_user": True}


async def test_pages_run_newest_first_one_subject_or_all(store: Store) -> None:
    for n in range(7):
        await store.append_audit_event(entry(ALICE, at=NOW + timedelta(seconds=n)))
        await store.append_audit_event(entry(BOB, at=NOW + timedelta(seconds=n)))

    pages: list[list[datetime]] = []
    before: int | None = None
    while page := await store.list_audit_events(subject_id=ALICE, limit=3, before=before):
        assert {r.subject_id for r in page} == {ALICE}
        pages.append([r.occurred_at for r in page])
        before = page[-1].id

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [t for p in pages for t in p] == [NOW + timedelta(seconds=n) for n in range(6, -1, -1)]
    everyone = await store.list_audit_events(limit=100)
    assert len(everyone) == 14
    assert [r.id for r in everyone] == sorted((r.id for r in everyone), reverse=True)


async def test_the_kind_filter_pages_alone_and_with_a_subject(store: Store) -> None:
    for n in range(4):
        at = NOW + timedelta(seconds=n)
        await store.append_audit_event(entry(ALICE, at=at, kind="login_failed"))
        await store.append_audit_event(entry(BOB, at=at, kind="login_failed"))
        await store.append_audit_event(entry(ALICE, at=at, kind="password_changed"))

    failures = await store.list_audit_events(kind="login_failed", limit=5)
    rest = await store.list_audit_events(kind="login_failed", limit=5, before=failures[-1].id)
    alices = await store.list_audit_events(subject_id=ALICE, kind="password_changed", limit=10)

    assert [len(failures), len(rest)] == [5, 3]
    assert {r.kind for r in failures + rest} == {"login_failed"}
    assert [(r.subject_id, r.kind) for r in alices] == [(ALICE, "password_changed")] * 4
    assert await store.list_audit_events(subject_id=BOB, kind="password_changed", limit=10) == []


async def test_concurrent_appends_are_all_kept_with_distinct_ids(store: Store) -> None:
    await asyncio.gather(*(store.append_audit_event(entry(ALICE)) for _ in range(40)))

    records = await store.list_audit_events(subject_id=ALICE, limit=100)

    assert len({r.id for r in records}) == 40


async def test_purge_deletes_in_batches_only_what_happened_before_the_cutoff(
    store: Store,
) -> None:
    for n in range(5):
        await store.append_audit_event(entry(ALICE, at=NOW - timedelta(days=1, seconds=n)))
    await store.append_audit_event(entry(BOB, at=NOW - timedelta(days=2)))
    await store.append_audit_event(entry(ALICE, at=NOW))
    await store.append_audit_event(entry(BOB, at=NOW + timedelta(days=1)))

    assert await store.purge_audit_events(before=NOW, batch_size=2) == 6

    kept = await store.list_audit_events(limit=100)
    assert sorted(r.occurred_at for r in kept) == [NOW, NOW + timedelta(days=1)]
    assert await store.purge_audit_events(before=NOW, batch_size=2) == 0


async def test_one_process_purges_the_audit_log_at_a_time_on_postgresql(
    postgres_database: str,
) -> None:
    holder = await asyncpg.connect(postgres_database.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with open_store(postgres_database) as store:
            await holder.execute("SELECT pg_advisory_lock($1)", AUDIT_PURGE_LOCK_KEY)
            assert await store.purge_audit_events(before=NOW, batch_size=10) is None
            # The session purge has a lock of its own: it is not held up by this one.
            assert await store.purge_sessions(ended_before=NOW, batch_size=10) == 0
            await holder.execute("SELECT pg_advisory_unlock($1)", AUDIT_PURGE_LOCK_KEY)
            assert await store.purge_audit_events(before=NOW, batch_size=10) == 0
    finally:
        await holder.close()


async def test_a_users_page_is_read_through_its_index(database_url: str) -> None:
    # A plan, not a timing: a user's activity must not scan every user's events.
    async with open_store(database_url, migrate=True):
        pass
    statement = (
        "SELECT * FROM audit_events WHERE subject_id = 'x' AND id < 100 ORDER BY id DESC LIMIT 51"
    )
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                rows = await conn.execute(text("EXPLAIN QUERY PLAN " + statement))
                plan = " ".join(str(row[-1]) for row in rows)
            else:
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                rows = await conn.execute(text("EXPLAIN " + statement))
                plan = " ".join(str(row[0]) for row in rows)
        assert "ix_audit_events_subject_id" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order
    finally:
        await engine.dispose()


async def test_the_migration_goes_down_and_up_again_keeping_the_other_tables(
    database_url: str,
) -> None:
    async with open_store(database_url, migrate=True) as store:
        owner = await store.create_user(username="alice", email=None, password_hash="x", now=NOW)
        await store.append_audit_event(entry(owner.id))

    def downgrade(connection: Connection) -> None:
        config = _config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")

    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "audit_events" not in tables
    finally:
        await engine.dispose()

    async with open_store(database_url, migrate=True) as store:
        assert await store.get_user_by_username("alice") is not None
        assert await store.list_audit_events(limit=10) == []
        await store.append_audit_event(entry(owner.id))
        assert len(await store.list_audit_events(subject_id=owner.id, limit=10)) == 1
