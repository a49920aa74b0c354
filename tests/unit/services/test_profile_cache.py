"""The profile cache: its bound, its maximum age by the service clock, its refusal of reads
that raced a change, and the store methods that tell it of every profile change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authsvc.errors import SessionEnded
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.roles import ADMIN
from authsvc.services.accounts import AccountService
from authsvc.services.profile_cache import ProfileCache
from authsvc.services.profile_watch import ProfileWatchingStore
from authsvc.settings import Settings
from authsvc.store import Store, open_store
from authsvc.store.records import (
    CHANGE_EMAIL,
    PASSWORD_RESET,
    VERIFY_EMAIL,
    NewEmailToken,
    UserChanges,
    UserProfile,
)
from tests.support.settings import FakeClock, make_settings

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def profile(user_id: str, *roles: str) -> UserProfile:
    return UserProfile(id=user_id, username=user_id, email=None, created_at=NOW, roles=roles)


def test_an_entry_lives_for_the_max_age_by_the_service_clock() -> None:
    clock = FakeClock()
    cache = ProfileCache(max_age_seconds=5, clock=clock)
    cache.put(profile("u1"), version=cache.version)
    clock.advance(4.9)
    assert cache.get("u1") == profile("u1")
    clock.advance(0.1)
    assert cache.get("u1") is None
    assert len(cache) == 0


def test_a_clock_gone_back_reads_again() -> None:
    clock = FakeClock()
    cache = ProfileCache(max_age_seconds=5, clock=clock)
    cache.put(profile("u1"), version=cache.version)
    clock.advance(-1)
    assert cache.get("u1") is None


def test_least_recently_used_go_first() -> None:
    cache = ProfileCache(max_age_seconds=5, clock=FakeClock(), max_entries=2)
    for user_id in ("u1", "u2"):
        cache.put(profile(user_id), version=cache.version)
    assert cache.get("u1") is not None  # u2 is now the least recently used
    cache.put(profile("u3"), version=cache.version)
    assert (cache.get("u1"), cache.get("u2"), cache.get("u3")) == (
        profile("u1"),
        None,
        profile("u3"),
    )


def test_zero_seconds_keeps_nothing() -> None:
    cache = ProfileCache(max_age_seconds=0, clock=FakeClock())
    cache.put(profile("u1"), version=cache.version)
    assert cache.get("u1") is None


async def test_a_read_under_way_during_a_change_is_not_kept() -> None:
    cache = ProfileCache(max_age_seconds=5, clock=FakeClock())
    started = cache.version
    await cache.changed(["u2"])  # any change: its commit may postdate the read's row
    cache.put(profile("u1"), version=started)
    assert cache.get("u1") is None
    cache.put(profile("u1", "ops"), version=cache.version)
    assert cache.get("u1") == profile("u1", "ops")


async def test_a_change_drops_the_profile_and_is_published() -> None:
    published: list[list[str] | None] = []

    async def publish(user_ids: list[str] | None) -> None:
        published.append(user_ids)

    cache = ProfileCache(max_age_seconds=5, clock=FakeClock())
    cache.share(publish, trusted=True)
    cache.put(profile("u1"), version=cache.version)
    cache.put(profile("u2"), version=cache.version)
    await cache.changed(["u1"])
    assert (cache.get("u1"), cache.get("u2")) == (None, profile("u2"))
    assert published == [["u1"]]


def test_nothing_is_kept_while_changes_elsewhere_go_unheard() -> None:
    cache = ProfileCache(max_age_seconds=5, clock=FakeClock())
    cache.put(profile("u1"), version=cache.version)
    cache.trust(False)
    assert cache.get("u1") is None
    cache.put(profile("u1"), version=cache.version)
    assert cache.get("u1") is None
    cache.trust(True)
    cache.put(profile("u1"), version=cache.version)
    assert cache.get("u1") == profile("u1")


# Every store method that writes a profile column, each making one change to alice's profile.
Change = Callable[[Store, str], Awaitable[object]]


async def _email_token(store: Store, user_id: str, purpose: str, email: str) -> str:
    await store.issue_email_token(
        NewEmailToken(
            user_id=user_id,
            purpose=purpose,
            email=email,
            token_hash=f"{purpose}-{user_id}",
            created_at=NOW,
            expires_at=NOW + timedelta(hours=1),
        )
    )
    return f"{purpose}-{user_id}"


async def set_roles(store: Store, user_id: str) -> object:
    return await store.update_user(
        user_id, UserChanges(roles=("ops",)), now=NOW, keep_holder_of=ADMIN
    )


async def delete(store: Store, user_id: str) -> object:
    return await store.delete_user(user_id, now=NOW, keep_holder_of=ADMIN)


async def verify_email(store: Store, user_id: str) -> object:
    token = await _email_token(store, user_id, VERIFY_EMAIL, "alice@example.com")
    return await store.verify_email(token, now=NOW)


async def reset_password(store: Store, user_id: str) -> object:
    token = await _email_token(store, user_id, PASSWORD_RESET, "alice@example.com")
    return await store.reset_password(token, "new-hash", now=NOW + timedelta(seconds=1))


async def change_email(store: Store, user_id: str) -> object:
    token = await _email_token(store, user_id, CHANGE_EMAIL, "new@example.com")
    return await store.change_email(token, now=NOW)


@pytest.fixture
async def watched(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Store, AccountService]]:
    settings: Settings = make_settings(tmp_path, database_url=database_url)
    cache = ProfileCache(max_age_seconds=60, clock=lambda: NOW)
    async with open_store(database_url, migrate=True) as raw:
        store = ProfileWatchingStore(raw, cache)
        passwords = PasswordService(settings)
        try:
            yield (
                store,
                AccountService(
                    store=store,
                    passwords=passwords,
                    policy=PasswordPolicy(settings),
                    clock=lambda: NOW,
                    registration_enabled=True,
                    profiles=cache,
                ),
            )
        finally:
            await passwords.aclose()


@pytest.mark.parametrize(
    "change",
    [set_roles, delete, verify_email, reset_password, change_email],
    ids=lambda c: c.__name__,
)
async def test_every_profile_change_through_the_store_is_seen_at_once(
    watched: tuple[Store, AccountService], change: Change
) -> None:
    store, accounts = watched
    user = await store.create_user(
        username="alice", email="alice@example.com", password_hash="x", now=NOW
    )
    before = await accounts.profile(user.id)
    assert await accounts.profile(user.id) is before  # kept

    await change(store, user.id)

    try:
        after = await accounts.profile(user.id)
    except SessionEnded:
        assert change is delete
        return
    assert after != before
    assert after == await store.get_profile(user.id)
