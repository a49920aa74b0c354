"""Account administration in the store: the in-memory fake, SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authsvc.errors import LastAdmin
from authsvc.store import Store, open_store
from authsvc.store.records import NewSession, RotateResult, Rotation, UserChanges
from tests.support.fakes import InMemoryStore
from tests.support.records import make_session
from tests.support.stores import STORES, _empty, revoked_since

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ADMIN = "admin"


@pytest.fixture(params=["memory", *STORES])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        fake: Store = InMemoryStore()
        yield fake
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        await _empty(url)
    async with open_store(url, migrate=True) as real:
        yield real


async def make_user(store: Store, name: str, *roles: str) -> str:
    user = await store.create_user(
        username=name, email=f"{name}@example.org", password_hash="h", now=NOW
    )
    if roles:
        await store.update_user(user.id, UserChanges(roles=roles), now=NOW, keep_holder_of=ADMIN)
    return user.id


def new_session(owner: str) -> NewSession:
    return make_session(owner, at=NOW, absolute=timedelta(days=30), token_hash="t0")


async def open_for(store: Store, owner: str) -> str:
    opened = await store.open_session(new_session(owner), verified_hash="h", max_live=10)
    assert opened is not None
    return opened.session.id


async def test_roles_show_in_profile_and_rotation_at_once(store: Store) -> None:
    owner = await make_user(store, "alice")
    sid = await open_for(store, owner)
    await store.update_user(
        owner, UserChanges(roles=("auditor", "admin")), now=NOW, keep_holder_of=ADMIN
    )
    profile = await store.get_profile(owner)
    assert profile is not None and profile.roles == ("admin", "auditor")
    rotation = Rotation(
        presented_hash="t0",
        replacement_hash="t1",
        now=NOW,
        idle_deadline=NOW + timedelta(days=1),
        grace_seconds=5,
        user_agent=None,
        ip=None,
    )
    outcome = await store.rotate(sid, rotation)
    assert (outcome.result, outcome.roles) == (RotateResult.ROTATED, ("admin", "auditor"))


async def test_disabling_ends_sessions_and_refuses_new_ones(store: Store) -> None:
    owner = await make_user(store, "alice")
    sid = await open_for(store, owner)
    update = await store.update_user(
        owner, UserChanges(disabled=True), now=NOW, keep_holder_of=ADMIN
    )
    assert update is not None
    assert update.revoked == [sid] and update.after.disabled_at == NOW
    assert await revoked_since(store, NOW) == [(sid, NOW)]
    assert await store.open_session(new_session(owner), verified_hash="h", max_live=10) is None
    # Disabling again changes nothing: the first time stays.
    later = NOW + timedelta(hours=1)
    again = await store.update_user(
        owner, UserChanges(disabled=True), now=later, keep_holder_of=ADMIN
    )
    assert again is not None and again.after.disabled_at == NOW and again.revoked == []
    enabled = await store.update_user(
        owner, UserChanges(disabled=False), now=later, keep_holder_of=ADMIN
    )
    assert enabled is not None and enabled.after.disabled_at is None


async def test_email_change_clears_verification_unless_said(store: Store) -> None:
    owner = await make_user(store, "alice")
    verified = await store.update_user(
        owner, UserChanges(email_verified=True), now=NOW, keep_holder_of=ADMIN
    )
    assert verified is not None and verified.after.email_verified_at == NOW
    moved = await store.update_user(
        owner, UserChanges(email="new@example.org"), now=NOW, keep_holder_of=ADMIN
    )
    assert moved is not None
    assert (moved.after.email, moved.after.email_verified_at) == ("new@example.org", None)
    both = UserChanges(email=None, email_verified=True)
    cleared = await store.update_user(owner, both, now=NOW, keep_holder_of=ADMIN)
    assert cleared is not None
    assert (cleared.after.email, cleared.after.email_verified_at) == (None, None)


async def test_the_last_enabled_admin_keeps_the_role(store: Store) -> None:
    first = await make_user(store, "alice", ADMIN)
    for change in (UserChanges(roles=()), UserChanges(disabled=True)):
        with pytest.raises(LastAdmin):
            await store.update_user(first, change, now=NOW, keep_holder_of=ADMIN)
    with pytest.raises(LastAdmin):
        await store.delete_user(first, now=NOW, keep_holder_of=ADMIN)
    second = await make_user(store, "bob", ADMIN)
    assert await store.update_user(first, UserChanges(roles=()), now=NOW, keep_holder_of=ADMIN)
    with pytest.raises(LastAdmin):
        await store.update_user(second, UserChanges(disabled=True), now=NOW, keep_holder_of=ADMIN)
    user = await store.get_user(second)
    assert user is not None and user.roles == (ADMIN,) and user.disabled_at is None


async def test_deleting_scrubs_frees_the_name_and_keeps_revocations(store: Store) -> None:
    owner = await make_user(store, "alice")
    sid = await open_for(store, owner)
    assert await store.delete_user(owner, now=NOW, keep_holder_of=ADMIN) == [sid]
    assert await store.get_user(owner) is None
    assert await store.get_profile(owner) is None
    assert await store.search_users(query="alice", limit=10) == []
    # A replica starting now still learns that the session ended.
    assert await revoked_since(store, NOW) == [(sid, NOW)]
    assert not await store.is_username_taken("alice")
    await make_user(store, "alice")
    assert await store.delete_user(owner, now=NOW, keep_holder_of=ADMIN) is None


async def test_purge_removes_deleted_accounts_after_their_sessions(database_url: str) -> None:
    # SQL only: the fake keeps no row of a deleted account, so it has none to purge.
    async with open_store(database_url, migrate=True) as store:
        await _purge_after_delete(store)


async def _purge_after_delete(store: Store) -> None:
    owner = await make_user(store, "alice")
    await open_for(store, owner)
    await store.delete_user(owner, now=NOW, keep_holder_of=ADMIN)
    assert await store.purge_sessions(ended_before=NOW, batch_size=10) == 0
    assert await revoked_since(store, NOW)  # not before the retention has passed
    assert await store.purge_sessions(ended_before=NOW + timedelta(seconds=1), batch_size=10) == 1
    assert await revoked_since(store, NOW) == []


async def test_search_pages_by_username(store: Store) -> None:
    for name in ("carol", "alice", "bob", "alfred"):
        await make_user(store, name)
    first = await store.search_users(query=None, limit=2)
    assert [u.username for u in first] == ["alfred", "alice"]
    rest = await store.search_users(query=None, limit=5, after="alice")
    assert [u.username for u in rest] == ["bob", "carol"]
    assert [u.username for u in await store.search_users(query="AL", limit=5)] == [
        "alfred",
        "alice",
    ]
    by_mail = await store.search_users(query="BOB@EXAMPLE", limit=5)
    assert [u.username for u in by_mail] == ["bob"]
    # LIKE wildcards are searched for literally.
    assert await store.search_users(query="%", limit=5) == []


async def test_two_admins_demoting_each_other_at_once_leave_one(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as one, open_store(database_url) as two:
        for _ in range(5):
            a = await make_user(one, f"a{uuid.uuid4().hex[:8]}", ADMIN)
            b = await make_user(one, f"b{uuid.uuid4().hex[:8]}", ADMIN)
            results = await asyncio.gather(
                one.update_user(a, UserChanges(roles=()), now=NOW, keep_holder_of=ADMIN),
                two.update_user(b, UserChanges(roles=()), now=NOW, keep_holder_of=ADMIN),
                return_exceptions=True,
            )
            assert sum(isinstance(r, LastAdmin) for r in results) == 1, results
            admins = [u for u in await one.list_users() if ADMIN in u.roles]
            assert len(admins) == 1
            # Leave the next round to start from no admin at all.
            await one.delete_user(admins[0].id, now=NOW, keep_holder_of="nobody")
