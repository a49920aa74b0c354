"""AdminService over the in-memory store: what each action changes, ends and reports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from authsvc.errors import InvalidCursor, InvalidRoles, LastAdmin, UserNotFound
from authsvc.events import ClientInfo, EventKind
from authsvc.revocation import MemoryRevocationList
from authsvc.services.admin import Actor, AdminService
from authsvc.store.records import UserChanges
from tests.support.fakes import InMemoryStore
from tests.support.http import PASSWORD
from tests.support.records import make_session
from tests.support.services import rig_core
from tests.support.settings import FakeClock, make_settings
from tests.unit.services.test_sessions_in_memory import RecordingObserver

ROOT = Actor(user_id="root-id", client=ClientInfo(ip="10.0.0.1", user_agent="ua"))


@dataclass
class Rig:
    admin: AdminService
    store: InMemoryStore
    revocations: MemoryRevocationList
    observer: RecordingObserver
    clock: FakeClock

    async def session(self, user_id: str) -> str:
        new = make_session(user_id, at=self.clock(), idle=timedelta(hours=1))
        return (await self.store.create_session(new)).id


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    settings = make_settings(tmp_path)
    clock, store, observer = FakeClock(), InMemoryStore(), RecordingObserver()
    revocations = MemoryRevocationList(remember_for=timedelta(minutes=20))
    # Built as the app and the command line build it.
    async with rig_core(settings, store=store, clock=clock, observer=observer) as core:
        yield Rig(core.admin(revocations), store, revocations, observer, clock)


async def test_create_applies_roles_and_reports_the_actor(rig: Rig) -> None:
    user = await rig.admin.create_user(
        ROOT, username="Bob", password=PASSWORD, email=None, roles=("ops", "admin", "ops")
    )
    assert (user.username, user.roles) == ("bob", ("admin", "ops"))
    [event] = rig.observer.events
    assert (event.kind, event.user_id, event.actor_id, event.client) == (
        EventKind.USER_CREATED_BY_ADMIN,
        user.id,
        "root-id",
        ROOT.client,
    )
    with pytest.raises(InvalidRoles):
        await rig.admin.create_user(
            ROOT, username="eve", password=PASSWORD, email=None, roles=("X",)
        )
    assert await rig.store.get_user_by_username("eve") is None  # refused before storing


async def test_disable_revokes_and_reports_once(rig: Rig) -> None:
    user = await rig.admin.create_user(ROOT, username="bob", password=PASSWORD, email=None)
    sessions = [await rig.session(user.id) for _ in range(2)]
    rig.observer.events.clear()
    await rig.admin.update_user(ROOT, user.id, UserChanges(disabled=True))
    for sid in sessions:
        assert await rig.revocations.is_revoked(sid, now=rig.clock())
    assert rig.observer.kinds() == [EventKind.SESSIONS_REVOKED, EventKind.USER_DISABLED]
    assert rig.observer.events[1].count == 2
    rig.observer.events.clear()
    await rig.admin.update_user(ROOT, user.id, UserChanges(disabled=True))  # no change
    assert rig.observer.events == []
    await rig.admin.update_user(ROOT, user.id, UserChanges(disabled=False, roles=("ops",)))
    assert rig.observer.kinds() == [EventKind.USER_ENABLED, EventKind.USER_UPDATED]


async def test_set_password_and_end_sessions_revoke(rig: Rig) -> None:
    user = await rig.admin.create_user(ROOT, username="bob", password=PASSWORD, email=None)
    first = await rig.session(user.id)
    await rig.admin.set_password(ROOT, user.id, "another long passphrase 42")
    assert await rig.revocations.is_revoked(first, now=rig.clock())
    stored = await rig.store.get_user(user.id)
    assert stored is not None and stored.password_hash != user.password_hash
    second = await rig.session(user.id)
    assert await rig.admin.end_sessions(ROOT, user.id) == 1
    assert await rig.revocations.is_revoked(second, now=rig.clock())
    assert rig.observer.kinds()[-1] is EventKind.SESSIONS_ENDED_BY_ADMIN


async def test_unknown_and_malformed_ids(rig: Rig) -> None:
    for bad in ("nope", str(uuid.uuid4()), "\x00"):
        with pytest.raises(UserNotFound):
            await rig.admin.get_user(bad)
        with pytest.raises(UserNotFound):
            await rig.admin.update_user(ROOT, bad, UserChanges(disabled=True))
        with pytest.raises(UserNotFound):
            await rig.admin.delete_user(ROOT, bad)
        with pytest.raises(UserNotFound):
            await rig.admin.find_user(bad)
    with pytest.raises(InvalidCursor):
        await rig.admin.list_users(query=None, limit=5, cursor="!!")


async def test_last_admin_and_find_by_name(rig: Rig) -> None:
    root = await rig.admin.create_user(
        ROOT, username="root", password=PASSWORD, email=None, roles=("admin",)
    )
    assert (await rig.admin.find_user("ROOT")).id == root.id
    with pytest.raises(LastAdmin):
        await rig.admin.delete_user(ROOT, root.id)
    assert (await rig.admin.get_user(root.id)).roles == ("admin",)
