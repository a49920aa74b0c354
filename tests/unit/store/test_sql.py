"""The SQL store on a real SQLite file: rotation outcomes, atomicity, revocation, schema."""

from __future__ import annotations

import asyncio
import uuid
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from authsvc.errors import UsernameTaken
from authsvc.store import Store, open_store
from authsvc.store.migrate import head_revision
from authsvc.store.models import metadata
from authsvc.store.records import NewSession, RotateResult, Rotation
from tests.support.records import make_session
from tests.support.stores import revoked_since

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GRACE = 5.0


@pytest.fixture
def db_url(database_url: str) -> str:
    return database_url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    async with open_store(db_url, migrate=True) as s:
        yield s


async def new_session(
    store: Store,
    *,
    user: str = "alice",
    at: datetime = NOW,
    idle: timedelta = timedelta(days=1),
) -> str:
    existing = await store.get_user_by_username(user)
    owner = existing or await store.create_user(
        username=user, email=None, password_hash="x", now=NOW
    )
    absolute = max(idle, timedelta(days=2))
    session = make_session(owner.id, at=at, idle=idle, absolute=absolute, token_hash="h0")
    await store.create_session(session)
    return session.id


def rotation(presented: str, replacement: str, *, at: datetime = NOW) -> Rotation:
    return Rotation(
        presented_hash=presented,
        replacement_hash=replacement,
        now=at,
        idle_deadline=at + timedelta(days=1),
        grace_seconds=GRACE,
        user_agent="ua2",
        ip="127.0.0.2",
    )


async def test_rotate_swaps_the_current_token(store: Store) -> None:
    sid = await new_session(store)
    later = NOW + timedelta(minutes=1)
    outcome = await store.rotate(sid, rotation("h0", "h1", at=later))
    assert outcome.result is RotateResult.ROTATED
    assert outcome.session is not None
    assert outcome.session.token_hash == "h1"
    assert outcome.session.previous_token_hash == "h0"
    assert outcome.session.generation == 1
    assert outcome.session.rotated_at == later
    assert outcome.session.last_used_at == later
    assert outcome.session.ip == "127.0.0.2"
    stored = await store.get_session(sid)
    assert stored == outcome.session


async def test_rotate_names_the_user_of_the_session(store: Store) -> None:
    # The new access token carries the username; it comes with the rotation, read for the
    # session's own user, so the service needs no second read.
    first = await new_session(store, user="alice")
    second = await new_session(store, user="bob")
    rotated = await store.rotate(second, rotation("h0", "h1"))
    assert (rotated.result, rotated.username) == (RotateResult.ROTATED, "bob")
    replay = await store.rotate(second, rotation("h0", "hx", at=NOW + timedelta(seconds=1)))
    assert (replay.result, replay.username) == (RotateResult.GRACE, "bob")
    assert (await store.rotate(first, rotation("h0", "h1"))).username == "alice"


async def test_datetimes_come_back_aware_utc(store: Store) -> None:
    sid = await new_session(store)
    stored = await store.get_session(sid)
    assert stored is not None
    assert stored.created_at == NOW
    assert stored.created_at.tzinfo is not None


async def test_rotate_classifies_every_other_presentation(store: Store) -> None:
    sid = await new_session(store)
    await store.rotate(sid, rotation("h0", "h1"))

    inside = await store.rotate(sid, rotation("h0", "hx", at=NOW + timedelta(seconds=GRACE)))
    assert inside.result is RotateResult.GRACE
    assert (await store.get_session(sid)).token_hash == "h1"  # type: ignore[union-attr]

    unknown = await store.rotate(str(uuid.uuid4()), rotation("h0", "hx"))
    assert unknown.result is RotateResult.UNKNOWN

    after = await store.rotate(sid, rotation("h0", "hx", at=NOW + timedelta(seconds=GRACE + 1)))
    assert after.result is RotateResult.REUSED
    assert after.session is not None
    assert after.session.revoked_reason == "reuse"

    ended = await store.rotate(sid, rotation("h1", "h2", at=NOW + timedelta(seconds=10)))
    assert ended.result is RotateResult.ENDED


async def test_older_generations_are_reuse_even_inside_grace(store: Store) -> None:
    sid = await new_session(store)
    await store.rotate(sid, rotation("h0", "h1"))
    await store.rotate(sid, rotation("h1", "h2"))
    outcome = await store.rotate(sid, rotation("h0", "hx"))
    assert outcome.result is RotateResult.REUSED
    assert (await store.get_session(sid)).revoked_at == NOW  # type: ignore[union-attr]


async def test_rotation_never_extends_past_the_absolute_cap(store: Store) -> None:
    sid = await new_session(store)
    first = await store.rotate(sid, rotation("h0", "h1", at=NOW + timedelta(hours=20)))
    assert first.result is RotateResult.ROTATED
    outcome = await store.rotate(sid, rotation("h1", "h2", at=NOW + timedelta(hours=43)))
    assert outcome.result is RotateResult.ROTATED
    assert outcome.session is not None
    assert outcome.session.idle_expires_at == outcome.session.absolute_expires_at
    expired = await store.rotate(sid, rotation("h2", "h3", at=NOW + timedelta(days=2)))
    assert expired.result is RotateResult.ENDED


async def test_concurrent_rotations_of_one_token_have_one_winner(db_url: str) -> None:
    # Separate stores are separate connection pools, as separate processes would have, so the
    # only thing serialising them is SQLite's own lock and the conditional update.
    async with open_store(db_url, migrate=True) as first, open_store(db_url) as second:
        sid = await new_session(first)
        outcomes = await asyncio.gather(
            *(
                (first if i % 2 else second).rotate(sid, rotation("h0", f"new-{i}"))
                for i in range(20)
            )
        )
        winners = [o for o in outcomes if o.result is RotateResult.ROTATED]
        assert len(winners) == 1
        assert all(o.result is RotateResult.GRACE for o in outcomes if o not in winners)
        final = await first.get_session(sid)
        assert final is not None
        assert final.generation == 1
        assert winners[0].session is not None
        assert final.token_hash == winners[0].session.token_hash


async def test_revoke_user_sessions_keeps_the_named_one(store: Store) -> None:
    keep = await new_session(store)
    others = [await new_session(store) for _ in range(2)]
    bobs = await new_session(store, user="bob")
    revoked = await store.revoke_user_sessions(
        (await store.get_session(keep)).user_id,  # type: ignore[union-attr]
        reason="password_changed",
        now=NOW,
        keep=keep,
    )
    assert sorted(revoked) == sorted(others)
    assert (await store.get_session(keep)).revoked_at is None  # type: ignore[union-attr]
    assert (await store.get_session(bobs)).revoked_at is None  # type: ignore[union-attr]
    live = await store.list_active_sessions(
        (await store.get_session(keep)).user_id,  # type: ignore[union-attr]
        now=NOW,
    )
    assert [s.id for s in live] == [keep]
    assert {sid for sid, _ in await revoked_since(store, NOW)} == set(others)


async def test_revocations_are_read_in_batches_and_every_one_is_handed_out(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from authsvc.store import sql_sessions

    monkeypatch.setattr(sql_sessions, "REVOKED_BATCH_ROWS", 2)
    before = await new_session(store)
    assert await store.revoke_session(before, reason="logout", now=NOW - timedelta(seconds=1))
    revoked = [await new_session(store) for _ in range(5)]
    for offset, sid in enumerate(revoked):
        assert await store.revoke_session(sid, reason="logout", now=NOW + timedelta(seconds=offset))
    await new_session(store)  # live

    expected = [(sid, NOW + timedelta(seconds=offset)) for offset, sid in enumerate(revoked)]
    assert sorted(await revoked_since(store, NOW)) == sorted(expected)


async def test_revoke_session_checks_the_owner(store: Store) -> None:
    sid = await new_session(store)
    bob = await store.create_user(username="bob", email=None, password_hash="x", now=NOW)
    assert not await store.revoke_session(sid, reason="signed_out", now=NOW, user_id=bob.id)
    assert await store.revoke_session(sid, reason="signed_out", now=NOW)
    assert not await store.revoke_session(sid, reason="signed_out", now=NOW)


async def test_usernames_are_unique(store: Store) -> None:
    await store.create_user(username="alice", email=None, password_hash="x", now=NOW)
    with pytest.raises(UsernameTaken):
        await store.create_user(username="alice", email=None, password_hash="y", now=NOW)
    assert [u.username for u in await store.list_users()] == ["alice"]


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_a_small_cache(
    tmp_path: Path,
) -> None:
    from authsvc.store.engine import SQLITE_CACHE_KIB, create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert ((await conn.execute(text("PRAGMA busy_timeout"))).scalar() or 0) >= 5000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            # Negative: KiB rather than pages; every connection of the pool keeps its own.
            assert (await conn.execute(text("PRAGMA cache_size"))).scalar() == -SQLITE_CACHE_KIB
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_and_are_idempotent(db_url: str) -> None:
    from authsvc.store.engine import create_engine

    async with open_store(db_url, migrate=True) as store:
        assert await store.schema_revision() == head_revision()
    async with open_store(db_url, migrate=True) as store:  # a second run is a no-op
        assert await store.schema_revision() == head_revision()

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        with warnings.catch_warnings():
            # SQLite's reflection cannot read ix_users_email_lower back; the test below shows
            # the index is there and used.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expr")
            return list(compare_metadata(context, metadata))

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


def opening(user_id: str, *, at: datetime = NOW) -> NewSession:
    return make_session(user_id, at=at)


async def test_open_session_needs_the_verified_hash_to_be_current(store: Store) -> None:
    alice = await store.create_user(username="alice", email=None, password_hash="old", now=NOW)
    await store.set_password_hash(alice.id, "new", changed_at=NOW)

    assert await store.open_session(opening(alice.id), verified_hash="old", max_live=10) is None
    assert await store.list_active_sessions(alice.id, now=NOW) == []
    opened = await store.open_session(opening(alice.id), verified_hash="new", max_live=10)
    assert opened is not None
    assert opened.ended == ()
    assert [s.id for s in await store.list_active_sessions(alice.id, now=NOW)] == [
        opened.session.id
    ]


async def test_open_session_ends_the_least_recently_used_beyond_the_cap(store: Store) -> None:
    alice = await store.create_user(username="alice", email=None, password_hash="h", now=NOW)
    bob = await store.create_user(username="bob", email=None, password_hash="h", now=NOW)
    bobs = await store.open_session(opening(bob.id), verified_hash="h", max_live=1)
    ids = []
    for minute in range(3):
        opened = await store.open_session(
            opening(alice.id, at=NOW + timedelta(minutes=minute)), verified_hash="h", max_live=3
        )
        assert opened is not None
        assert opened.ended == ()
        ids.append(opened.session.id)
    # Using the oldest makes the second the least recently used.
    later = NOW + timedelta(minutes=5)
    first = await store.get_session(ids[0])
    assert first is not None
    rotated = await store.rotate(ids[0], rotation(first.token_hash, "t1", at=later))
    assert rotated.result is RotateResult.ROTATED

    newest = await store.open_session(
        opening(alice.id, at=later + timedelta(minutes=1)), verified_hash="h", max_live=3
    )
    assert newest is not None
    assert newest.ended == (ids[1],)
    ended = await store.get_session(ids[1])
    assert ended is not None
    assert ended.revoked_reason == "session_limit"
    live = await store.list_active_sessions(alice.id, now=later + timedelta(minutes=1))
    assert {s.id for s in live} == {newest.session.id, ids[0], ids[2]}
    assert bobs is not None
    assert (await store.get_session(bobs.session.id)).revoked_at is None  # type: ignore[union-attr]


async def test_list_active_sessions_pages_by_last_use_then_id(store: Store) -> None:
    ids = [await new_session(store, at=NOW) for _ in range(3)]
    ids += [await new_session(store, at=NOW - timedelta(minutes=1)) for _ in range(2)]
    user_id = (await store.get_session(ids[0])).user_id  # type: ignore[union-attr]
    expected = sorted(ids[:3], reverse=True) + sorted(ids[3:], reverse=True)
    seen: list[str] = []
    after = None
    while True:
        page = await store.list_active_sessions(
            user_id, now=NOW - timedelta(minutes=2), limit=2, after=after
        )
        if not page:
            break
        seen += [s.id for s in page]
        after = (page[-1].last_used_at, page[-1].id)
    assert seen == expected


async def test_purge_deletes_only_sessions_ended_before_the_cutoff(store: Store) -> None:
    cutoff = NOW
    old, recent = cutoff - timedelta(days=1), cutoff + timedelta(minutes=1)
    live = await new_session(store, at=cutoff)
    revoked_long_ago = [await new_session(store, at=old) for _ in range(5)]
    for sid in revoked_long_ago:
        assert await store.revoke_session(sid, reason="logout", now=old)
    revoked_recently = await new_session(store, at=old)
    assert await store.revoke_session(revoked_recently, reason="logout", now=recent)
    expired_long_ago = [
        await new_session(store, at=old - timedelta(days=3), idle=timedelta(hours=1))
        for _ in range(3)
    ]
    expired_recently = await new_session(store, at=old, idle=timedelta(days=1, minutes=1))

    deleted = await store.purge_sessions(ended_before=cutoff, batch_size=2)

    assert deleted == len(revoked_long_ago) + len(expired_long_ago)
    for sid in (*revoked_long_ago, *expired_long_ago):
        assert await store.get_session(sid) is None
    for sid in (live, revoked_recently, expired_recently):
        assert await store.get_session(sid) is not None
    assert await store.purge_sessions(ended_before=cutoff, batch_size=2) == 0


async def test_one_process_purges_at_a_time_on_postgresql(postgres_database: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    from authsvc.store.purge import PURGE_LOCK_KEY

    holder = await asyncpg.connect(postgres_database.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with open_store(postgres_database) as store:
            await holder.execute("SELECT pg_advisory_lock($1)", PURGE_LOCK_KEY)
            assert await store.purge_sessions(ended_before=NOW, batch_size=10) is None
            await holder.execute("SELECT pg_advisory_unlock($1)", PURGE_LOCK_KEY)
            assert await store.purge_sessions(ended_before=NOW, batch_size=10) == 0
            # The purge released its lock: another session can take it at once.
            assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", PURGE_LOCK_KEY)
            assert await store.purge_sessions(ended_before=NOW, batch_size=10) is None
    finally:
        await holder.close()


async def test_the_active_sessions_gauge_is_counted_from_its_partial_index(db_url: str) -> None:
    # A plan, not a timing: the count must never scan the ended rows awaiting the purge.
    from authsvc.store.engine import create_engine
    from authsvc.store.sql_sessions import count_active_statement

    async with open_store(db_url, migrate=True):
        pass
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            statement = str(
                count_active_statement(NOW).compile(
                    dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                )
            )
            if conn.dialect.name == "sqlite":
                rows = await conn.execute(text("EXPLAIN QUERY PLAN " + statement))
                plan = " ".join(str(row[-1]) for row in rows)
                assert "USING COVERING INDEX ix_sessions_live_by_expiry" in plan, plan
            else:
                # An empty table is cheapest to scan whole; forbid that to see the index is usable.
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                rows = await conn.execute(text("EXPLAIN " + statement))
                plan = " ".join(str(row[0]) for row in rows)
                assert "ix_sessions_live_by_expiry" in plan, plan
    finally:
        await engine.dispose()


async def test_a_sqlite_file_in_a_missing_directory_is_refused_unless_asked_for(
    tmp_path: Path,
) -> None:
    from authsvc.store.engine import MissingDatabaseDirectory, create_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'typo' / 'dir' / 'authsvc.db'}"
    with pytest.raises(MissingDatabaseDirectory) as refused:
        create_engine(url)
    assert refused.value.directory == tmp_path / "typo" / "dir"
    assert not (tmp_path / "typo").exists()

    async with open_store(url, migrate=True, create_directories=True) as store:
        assert await store.schema_revision() == head_revision()
    assert (tmp_path / "typo" / "dir" / "authsvc.db").exists()


async def test_finding_accounts_by_address_uses_the_lower_email_index(db_url: str) -> None:
    from authsvc.store.engine import create_engine
    from authsvc.store.sql_users import users_by_email_statement

    async with open_store(db_url, migrate=True) as store:
        await store.create_user(
            username="alice", email="Alice@Example.com", password_hash="x", now=NOW
        )
        [found] = await store.users_by_email("ALICE@example.COM")
        assert found.username == "alice"

    engine = create_engine(db_url)
    statement = users_by_email_statement("alice@example.com")
    try:
        async with engine.connect() as conn:
            compiled = statement.compile(conn.sync_engine, compile_kwargs={"literal_binds": True})
            if conn.dialect.name == "sqlite":
                plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")).all()
            else:
                # A table this small is cheaper to scan; forbid that to see the index is usable.
                await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = (await conn.exec_driver_sql(f"EXPLAIN {compiled}")).all()
    finally:
        await engine.dispose()
    assert "ix_users_email_lower" in " ".join(str(row) for row in plan), plan
