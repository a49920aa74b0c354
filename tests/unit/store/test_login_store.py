"""Opening sessions as units of SQLite's group-commit writer, beside rotations, on a real file."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from authsvc.store import Store, open_store
from authsvc.store.engine import configure_sqlite
from authsvc.store.group_commit import GroupCommitWriter, Steps
from authsvc.store.records import OpenedSession, RotateOutcome, RotateResult, Rotation
from authsvc.store.sql_login import open_steps
from authsvc.store.sql_rotation import rotation_steps
from tests.support.records import audit_entry, make_session
from tests.unit.store.test_group_commit import Committed

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", migrate=True) as opened:
        yield opened


@pytest.fixture
def commits() -> Committed:
    return Committed()


@pytest.fixture
async def writer(
    tmp_path: Path, store: Store, commits: Committed
) -> AsyncIterator[GroupCommitWriter]:
    # A writer of its own on the store's file, to count its transactions.
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'l.db'}", poolclass=NullPool)
    configure_sqlite(engine)
    commits.watch(engine)
    opened = GroupCommitWriter(engine, asyncio.Lock())
    yield opened
    await opened.close()


async def account(store: Store, name: str) -> str:
    return (await store.create_user(username=name, email=None, password_hash="h", now=NOW)).id


def login(owner: str, *, at: datetime = NOW, verified: str = "h", cap: int = 10, **kw: Any) -> Any:
    new = make_session(owner, at=at, **kw)

    def unit() -> Steps[OpenedSession | None]:
        return open_steps(new, verified_hash=verified, max_live=cap)

    return unit


def rotation(session_id: str, presented: str, replacement: str) -> Any:
    presented_as = Rotation(
        presented_hash=presented,
        replacement_hash=replacement,
        now=NOW,
        idle_deadline=NOW + timedelta(days=1),
        grace_seconds=5.0,
        user_agent="ua",
        ip="::1",
    )

    def unit() -> Steps[RotateOutcome]:
        return rotation_steps(session_id, presented_as)

    return unit


async def test_logins_and_rotations_share_transactions_and_keep_their_results(
    store: Store, writer: GroupCommitWriter, commits: Committed
) -> None:
    owners = [await account(store, f"user{n}") for n in range(20)]
    existing = [
        await writer.run(login(owner, token_hash=f"old{n}")) for n, owner in enumerate(owners)
    ]
    commits.count = 0

    outcomes = await asyncio.gather(
        *(writer.run(login(owner)) for owner in owners),
        *(
            writer.run(rotation(opened.session.id, f"old{n}", f"new{n}"))
            for n, opened in enumerate(existing)
        ),
    )

    opened, rotated = outcomes[:20], outcomes[20:]
    assert [o.session.user_id for o in opened] == owners
    assert all(r.result is RotateResult.ROTATED for r in rotated)
    assert [r.session.token_hash for r in rotated] == [f"new{n}" for n in range(20)]
    # Queued while the first batch waited for the loop: far fewer transactions than units.
    assert commits.count < 40
    for owner in owners:
        assert len(await store.list_active_sessions(owner, now=NOW)) == 2


async def test_a_failing_login_fails_alone_and_the_rest_of_its_batch_commits(
    store: Store, writer: GroupCommitWriter
) -> None:
    alice = await account(store, "alice")
    before = await writer.run(login(alice, token_hash="t0"))
    assert before is not None

    outcomes = await asyncio.gather(
        writer.run(login(alice, token_hash="a")),
        # The session id is taken: the insert fails with IntegrityError.
        writer.run(login(alice, session_id=before.session.id)),
        writer.run(rotation(before.session.id, "t0", "t1")),
        writer.run(login(alice, verified="stale")),  # the password changed: no session
        writer.run(login(alice, token_hash="b")),
        return_exceptions=True,
    )

    assert isinstance(outcomes[1], IntegrityError)
    assert outcomes[3] is None
    assert isinstance(outcomes[2], RotateOutcome)
    assert outcomes[2].result is RotateResult.ROTATED
    live = {s.token_hash for s in await store.list_active_sessions(alice, now=NOW)}
    assert live == {"a", "b", "t1"}


async def test_concurrent_logins_of_one_user_never_exceed_the_cap(
    store: Store, writer: GroupCommitWriter
) -> None:
    alice = await account(store, "alice")
    # Each later login is more recently used, so the cap keeps the last three.
    opened = await asyncio.gather(
        *(writer.run(login(alice, at=NOW + timedelta(seconds=n), cap=3)) for n in range(50))
    )

    live = await store.list_active_sessions(alice, now=NOW + timedelta(seconds=50))
    assert [s.id for s in live] == [o.session.id for o in reversed(opened[-3:])]
    ended = [session_id for o in opened for session_id in o.ended]
    assert sorted(ended) == sorted(o.session.id for o in opened[:-3])


async def test_the_store_opens_sessions_and_appends_audit_rows_through_its_writer(
    store: Store,
) -> None:
    alice = await account(store, "alice")
    opened = await asyncio.gather(
        *(
            store.open_session(make_session(alice, at=NOW), verified_hash="h", max_live=2)
            for _ in range(5)
        ),
        *(store.append_audit_event(audit_entry(NOW, subject=alice)) for _ in range(5)),
    )

    assert sum(len(o.ended) for o in opened[:5] if o is not None) == 3
    assert len(await store.list_active_sessions(alice, now=NOW)) == 2
    assert len(await store.list_audit_events(subject_id=alice, limit=10)) == 5
    stale = await store.open_session(make_session(alice, at=NOW), verified_hash="x", max_live=2)
    assert stale is None
    nobody = make_session(str(uuid.uuid4()), at=NOW)
    assert await store.open_session(nobody, verified_hash="h", max_live=2) is None
