"""The hot reads on the driver itself (the profile of `/auth/me`, a login's account by name,
the count of its second factors): the same values as through SQLAlchemy, always current, on
SQLite (a file, and in memory) and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authsvc.errors import StoreUnavailable
from authsvc.roles import ADMIN
from authsvc.store import open_store
from authsvc.store.records import UserChanges

NOW = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def test_the_profile_is_what_the_users_row_holds(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as store:
        user = await store.create_user(
            username="alice", email="alice@example.com", password_hash="x", now=NOW
        )
        await store.update_user(
            user.id, UserChanges(roles=("ops", "admin")), now=NOW, keep_holder_of=ADMIN
        )
        profile = await store.get_profile(user.id)
        record = await store.get_user(user.id)

    assert profile is not None and record is not None
    assert (profile.id, profile.username, profile.email) == (user.id, "alice", "alice@example.com")
    assert profile.roles == record.roles == ("admin", "ops")
    # Aware UTC datetimes with their microseconds, as SQLAlchemy's own reads give them.
    assert profile.created_at == record.created_at == NOW
    assert profile.created_at.tzinfo is not None
    assert profile.email_verified_at is None


async def test_unknown_and_deleted_accounts_have_no_profile(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as store:
        user = await store.create_user(username="bob", email=None, password_hash="x", now=NOW)
        assert await store.get_profile("no-such-id") is None
        assert await store.get_profile(user.id) is not None
        await store.delete_user(user.id, now=NOW, keep_holder_of=ADMIN)
        assert await store.get_profile(user.id) is None


async def test_a_change_committed_by_another_store_is_read_at_once(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as first, open_store(database_url) as other:
        user = await first.create_user(username="carol", email=None, password_hash="x", now=NOW)
        for n in range(3):
            roles = (f"role{n}",)
            await other.update_user(
                user.id, UserChanges(roles=roles), now=NOW, keep_holder_of=ADMIN
            )
            profile = await first.get_profile(user.id)
            assert profile is not None and profile.roles == roles


async def test_concurrent_reads_during_writes_see_committed_rows_only(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as store:
        user = await store.create_user(username="dave", email=None, password_hash="x", now=NOW)

        async def change_roles() -> None:
            for n in range(10):
                await store.update_user(
                    user.id, UserChanges(roles=(f"r{n}",)), now=NOW, keep_holder_of=ADMIN
                )

        async def read() -> set[tuple[str, ...]]:
            seen = set()
            for _ in range(20):
                profile = await store.get_profile(user.id)
                assert profile is not None
                seen.add(profile.roles)
            return seen

        _, results = await asyncio.gather(
            change_roles(), asyncio.gather(*(read() for _ in range(10)))
        )
        final = await store.get_profile(user.id)
    allowed = {()} | {(f"r{n}",) for n in range(10)}
    assert all(seen <= allowed for seen in results)
    assert final is not None and final.roles == ("r9",)


async def test_an_in_memory_database_is_read_through_its_own_engine() -> None:
    async with open_store("sqlite+aiosqlite:///:memory:", migrate=True) as store:
        user = await store.create_user(username="erin", email=None, password_hash="x", now=NOW)
        profile = await store.get_profile(user.id)
    assert profile is not None and profile.username == "erin"


async def test_a_missing_table_is_an_unavailable_store(tmp_path: Path) -> None:
    # A file with no schema stands in for a database that cannot answer the read.
    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}") as store:
        with pytest.raises(StoreUnavailable):
            await store.get_profile("anyone")


async def test_the_reader_sees_rows_written_after_it_first_read(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}"
    async with open_store(url, migrate=True) as store:
        assert await store.get_profile("later") is None  # the reader's connection is open now
        later = NOW + timedelta(seconds=1)
        user = await store.create_user(username="frank", email=None, password_hash="x", now=later)
        profile = await store.get_profile(user.id)
    assert profile is not None and profile.created_at == later


async def test_the_login_read_is_the_users_row(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as store:
        user = await store.create_user(
            username="alice", email="alice@example.com", password_hash="$argon2id$x", now=NOW
        )
        await store.update_user(
            user.id,
            UserChanges(roles=("ops", "admin"), disabled=True),
            now=NOW,
            keep_holder_of="nobody",
        )
        by_name = await store.get_user_by_username("alice")
        by_id = await store.get_user(user.id)

    assert by_name is not None
    assert by_name == by_id
    assert by_name.password_hash == "$argon2id$x"
    assert by_name.roles == ("admin", "ops")
    # Aware UTC datetimes with their microseconds, as SQLAlchemy's own reads give them.
    assert by_name.created_at == NOW and by_name.created_at.tzinfo is not None
    assert by_name.disabled_at == NOW
    assert by_name.email_verified_at is None


async def test_an_unknown_name_has_no_account(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as store:
        await store.create_user(username="alice", email=None, password_hash="x", now=NOW)
        assert await store.get_user_by_username("bob") is None
        assert await store.get_user_by_username("Alice") is None  # names are canonical


async def test_a_login_reads_what_another_store_committed_at_once(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as first, open_store(database_url) as other:
        user = await first.create_user(username="alice", email=None, password_hash="h1", now=NOW)
        before = await first.get_user_by_username("alice")
        assert before is not None and before.password_hash == "h1"
        assert await first.count_factors(user.id) == await other.count_factors(user.id)

        assert await other.set_password_hash(user.id, "h2", expected_hash="h1", changed_at=NOW)
        await other.update_user(user.id, UserChanges(disabled=True), now=NOW, keep_holder_of=ADMIN)
        assert await other.begin_totp(user.id, "sealed", now=NOW)
        assert await other.confirm_totp(
            user.id, sealed_secret="sealed", step=1, recovery_hashes=["c1"], now=NOW
        )

        after = await first.get_user_by_username("alice")
        assert after is not None
        assert (after.password_hash, after.disabled_at) == ("h2", NOW)
        assert (await first.count_factors(user.id)).totp == 1


async def test_a_login_on_an_in_memory_database_reads_through_its_engine() -> None:
    async with open_store("sqlite+aiosqlite:///:memory:", migrate=True) as store:
        user = await store.create_user(username="alice", email=None, password_hash="x", now=NOW)
        assert await store.get_user_by_username("alice") == await store.get_user(user.id)
        assert (await store.count_factors(user.id)).passkeys == 0
