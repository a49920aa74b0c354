"""Migration 0002 on a database that already has users, look-alikes among them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select

from authsvc.errors import UsernameTaken
from authsvc.store import open_store
from authsvc.store.models import users
from tests.support.migrations import upgrade_sqlite_to

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_the_skeleton_backfill_keeps_existing_look_alikes_working(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_sqlite_to(url, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        for n, name in enumerate(["al\u0131ce", "alice", "bob"]):  # the look-alike came first
            connection.execute(
                insert(users).values(
                    id=f"user-{n}",
                    username=name,
                    password_hash="x",
                    created_at=NOW + timedelta(minutes=n),
                    password_changed_at=NOW,
                )
            )
    engine.dispose()

    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", migrate=True) as store:
        assert await store.get_user_by_username("alice") is not None
        assert await store.get_user_by_username("al\u0131ce") is not None
        with pytest.raises(UsernameTaken):  # the skeleton blocks any further look-alike
            await store.create_user(username="a1ice", email=None, password_hash="y", now=NOW)
        assert await store.is_username_taken("bob")

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(users.c.username, users.c.username_skeleton)).all()
    engine.dispose()
    assert {row.username: row.username_skeleton for row in rows} == {
        "al\u0131ce": "alice",
        "alice": None,
        "bob": "bob",
    }


async def test_account_status_columns_leave_existing_accounts_plain_users(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_sqlite_to(url, "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(users).values(
                id="user-0",
                username="carol",
                username_skeleton="carol",
                password_hash="x",
                created_at=NOW,
                password_changed_at=NOW,
            )
        )
    engine.dispose()

    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", migrate=True) as store:
        carol = await store.get_user("user-0")
        profile = await store.get_profile("user-0")
    assert carol is not None
    assert (carol.roles, carol.disabled_at, carol.email_verified_at) == ((), None, None)
    assert profile is not None
    assert (profile.roles, profile.email_verified_at) == ((), None)
