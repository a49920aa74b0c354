"""MemoryRevocationList: remembers revoked sessions for one access-token lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from authsvc.revocation import MemoryRevocationList
from authsvc.settings import Settings
from authsvc.store import Store, open_store
from tests.support.records import make_session
from tests.support.settings import FakeClock

REMEMBER = timedelta(seconds=610)  # access-token lifetime plus leeway


@pytest.fixture
def revocations() -> MemoryRevocationList:
    return MemoryRevocationList(remember_for=REMEMBER)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with open_store(settings.database_url, migrate=True) as opened:
        yield opened


async def test_added_sessions_are_revoked(
    revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    await revocations.add(["s1", "s2"], revoked_at=clock.now)

    assert await revocations.is_revoked("s1", now=clock.now)
    assert await revocations.is_revoked("s2", now=clock.now)
    assert not await revocations.is_revoked("s3", now=clock.now)
    assert not await revocations.is_revoked("", now=clock.now)
    assert len(revocations) == 2


async def test_nothing_is_revoked_at_first(
    revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    assert not await revocations.is_revoked("s1", now=clock.now)
    assert len(revocations) == 0


async def test_accepts_any_iterable(revocations: MemoryRevocationList, clock: FakeClock) -> None:
    await revocations.add((f"s{i}" for i in range(3)), revoked_at=clock.now)
    await revocations.add([], revoked_at=clock.now)
    assert [await revocations.is_revoked(f"s{i}", now=clock.now) for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]


async def test_remembered_for_exactly_remember_for(
    revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    revoked_at = clock.now
    await revocations.add(["s1"], revoked_at=revoked_at)

    last_moment = revoked_at + REMEMBER - timedelta(microseconds=1)
    assert await revocations.is_revoked("s1", now=last_moment)
    # Every access token of the session has expired by now, so it may be forgotten.
    assert not await revocations.is_revoked("s1", now=revoked_at + REMEMBER)
    assert not await revocations.is_revoked("s1", now=revoked_at + REMEMBER * 10)


async def test_old_entries_are_pruned(revocations: MemoryRevocationList, clock: FakeClock) -> None:
    await revocations.add(["old"], revoked_at=clock.now)
    clock.advance(REMEMBER.total_seconds() + 1)
    await revocations.add(["new"], revoked_at=clock.now)

    assert len(revocations) == 1
    assert await revocations.is_revoked("new", now=clock.now)
    assert not await revocations.is_revoked("old", now=clock.now)


async def test_pruning_scans_at_most_once_per_eighth_of_the_span(
    revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    await revocations.add(["a"], revoked_at=clock.now)  # the first prune, of nothing
    clock.advance(REMEMBER.total_seconds() + 1)
    await revocations.add(["b"], revoked_at=clock.now)  # due: "a" is pruned
    assert len(revocations) == 1
    # Reported late by another replica: forgotten at once, yet kept until the next scan.
    await revocations.add(["late"], revoked_at=clock.now - REMEMBER)
    assert not await revocations.is_revoked("late", now=clock.now)
    clock.advance(REMEMBER.total_seconds() / 8 - 1)
    await revocations.add(["c"], revoked_at=clock.now)  # within an eighth: no scan
    assert len(revocations) == 3
    clock.advance(1)
    await revocations.add(["d"], revoked_at=clock.now)  # due again: "late" is pruned
    assert len(revocations) == 3
    assert all([await revocations.is_revoked(s, now=clock.now) for s in ("b", "c", "d")])


async def test_revoking_again_extends_the_memory(
    revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    first = clock.now
    await revocations.add(["s1"], revoked_at=first)
    second = first + timedelta(seconds=300)
    await revocations.add(["s1"], revoked_at=second)

    assert await revocations.is_revoked("s1", now=first + REMEMBER + timedelta(seconds=1))
    assert not await revocations.is_revoked("s1", now=second + REMEMBER)


# Seeding from the store at startup


async def open_session(store: Store, user_id: str, now: datetime) -> str:
    session = make_session(user_id, at=now, absolute=timedelta(days=30), user_agent="pytest")
    await store.create_session(session)
    return session.id


async def test_load_seeds_recent_revocations_from_the_store(
    revocations: MemoryRevocationList, store: Store, clock: FakeClock
) -> None:
    now = clock.now
    start = now - timedelta(hours=2)
    user = await store.create_user(username="alice", email=None, password_hash="x", now=start)
    recent = await open_session(store, user.id, start)
    old = await open_session(store, user.id, start)
    live = await open_session(store, user.id, start)
    recent_at = now - timedelta(seconds=60)
    assert await store.revoke_session(recent, reason="logout", now=recent_at)
    assert await store.revoke_session(
        old, reason="logout", now=now - REMEMBER - timedelta(seconds=60)
    )

    await revocations.load(store, now=now)

    assert await revocations.is_revoked(recent, now=now)
    assert not await revocations.is_revoked(old, now=now)
    assert not await revocations.is_revoked(live, now=now)
    assert len(revocations) == 1
    # Remembered from the revocation time, not from the moment of loading.
    assert await revocations.is_revoked(recent, now=recent_at + REMEMBER - timedelta(seconds=1))
    assert not await revocations.is_revoked(recent, now=recent_at + REMEMBER)


async def test_load_sees_every_session_of_a_logout_all(
    revocations: MemoryRevocationList, store: Store, clock: FakeClock
) -> None:
    user = await store.create_user(username="bob", email=None, password_hash="x", now=clock.now)
    sessions = [await open_session(store, user.id, clock.now) for _ in range(3)]
    revoked = await store.revoke_user_sessions(user.id, reason="logout-all", now=clock.now)
    assert sorted(revoked) == sorted(sessions)

    clock.advance(5)
    await revocations.load(store, now=clock.now)

    for session_id in sessions:
        assert await revocations.is_revoked(session_id, now=clock.now)


async def test_load_from_an_empty_store(
    revocations: MemoryRevocationList, store: Store, clock: FakeClock
) -> None:
    await revocations.load(store, now=clock.now)
    assert len(revocations) == 0


async def test_load_keeps_what_was_added_before(
    revocations: MemoryRevocationList, store: Store, clock: FakeClock
) -> None:
    await revocations.add(["in-memory"], revoked_at=clock.now)
    await revocations.load(store, now=clock.now)
    assert await revocations.is_revoked("in-memory", now=clock.now)


async def test_loaded_revocations_are_answered_each_by_its_own_time_then_dropped(
    revocations: MemoryRevocationList, store: Store, clock: FakeClock
) -> None:
    user = await store.create_user(username="carol", email=None, password_hash="x", now=clock.now)
    sessions = [await open_session(store, user.id, clock.now) for _ in range(40)]
    # Revoked a second apart, so each is remembered until its own moment.
    for offset, session_id in enumerate(sessions):
        at = clock.now - timedelta(seconds=len(sessions) - offset)
        assert await store.revoke_session(session_id, reason="logout", now=at)
    live = await open_session(store, user.id, clock.now)

    await revocations.load(store, now=clock.now)
    assert len(revocations) == len(sessions)
    assert all([await revocations.is_revoked(s, now=clock.now) for s in sessions])
    assert not await revocations.is_revoked(live, now=clock.now)

    halfway = clock.now + REMEMBER - timedelta(seconds=len(sessions) / 2)
    remembered = [await revocations.is_revoked(s, now=halfway) for s in sessions]
    assert remembered == [False] * 21 + [True] * 19  # index 20 ends exactly at halfway

    clock.advance(REMEMBER.total_seconds())
    await revocations.add(["next"], revoked_at=clock.now)  # a prune is due: all loaded expired
    assert len(revocations) == 1
