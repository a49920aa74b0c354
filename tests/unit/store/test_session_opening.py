"""`open_session` under concurrency on SQLite and PostgreSQL: the account's row lock makes
openings of one user queue, so the cap holds however many race, and a password change or a
disabling that commits first stops the openings behind it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg  # type: ignore[import-untyped]
import pytest

from authsvc.roles import ADMIN
from authsvc.store import Store, open_store
from authsvc.store.records import UserChanges
from tests.support.records import make_session

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RACE = 16


async def test_concurrent_openings_never_leave_more_than_the_cap(store: Store) -> None:
    alice = await store.create_user(username="alice", email=None, password_hash="h", now=NOW)
    bob = await store.create_user(username="bob", email=None, password_hash="h", now=NOW)
    bobs = await store.open_session(make_session(bob.id, at=NOW), verified_hash="h", max_live=3)

    openings = [
        store.open_session(
            make_session(alice.id, at=NOW + timedelta(seconds=i)), verified_hash="h", max_live=3
        )
        for i in range(RACE)
    ]
    opened = await asyncio.gather(*openings)

    assert all(o is not None for o in opened)
    live = await store.list_active_sessions(alice.id, now=NOW + timedelta(minutes=1))
    assert len(live) == 3
    ended = {sid for o in opened if o is not None for sid in o.ended}
    assert len(ended) == RACE - 3  # each ended session was ended by exactly one opening
    assert {s.id for s in live} | ended == {o.session.id for o in opened if o is not None}
    assert bobs is not None and (await store.get_session(bobs.session.id)) is not None
    assert len(await store.list_active_sessions(bob.id, now=NOW)) == 1


async def test_openings_behind_a_password_change_or_a_disabling_open_nothing(
    store: Store,
) -> None:
    alice = await store.create_user(username="alice", email=None, password_hash="h", now=NOW)
    bob = await store.create_user(username="bob", email=None, password_hash="h", now=NOW)
    assert await store.set_password_hash(alice.id, "h2", expected_hash="h", changed_at=NOW)
    await store.update_user(bob.id, UserChanges(disabled=True), now=NOW, keep_holder_of=ADMIN)

    refused = await asyncio.gather(
        *(
            store.open_session(make_session(owner, at=NOW), verified_hash="h", max_live=10)
            for owner in (alice.id, bob.id, "no-such-account")
        )
    )

    assert refused == [None, None, None]
    assert await store.list_active_sessions(alice.id, now=NOW) == []
    assert await store.list_active_sessions(bob.id, now=NOW) == []


async def test_an_opening_cancelled_while_it_waits_for_the_lock_leaves_nothing_behind(
    postgres_database: str,
) -> None:
    # PostgreSQL only: SQLite's openings queue in the writer, not on a row lock. The database
    # is this run's, shared with other tests: a name no other test uses.
    async with open_store(postgres_database, migrate=True) as store:
        name = f"alice-{uuid.uuid4().hex[:8]}"
        alice = await store.create_user(username=name, email=None, password_hash="h", now=NOW)
        holder = await asyncpg.connect(
            postgres_database.replace("postgresql+asyncpg", "postgresql")
        )
        try:
            # Another transaction holds the account's row (a password change in progress).
            locking = holder.transaction()
            await locking.start()
            await holder.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", alice.id)
            waiting = asyncio.create_task(
                store.open_session(make_session(alice.id, at=NOW), verified_hash="h", max_live=3)
            )
            await asyncio.sleep(0.3)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await locking.rollback()
        finally:
            await holder.close()

        assert await store.list_active_sessions(alice.id, now=NOW) == []
        # The pool handed out a working connection afterwards, whichever it is.
        for _ in range(12):
            opened = await store.open_session(
                make_session(alice.id, at=NOW), verified_hash="h", max_live=100
            )
            assert opened is not None
        assert len(await store.list_active_sessions(alice.id, now=NOW)) == 12
