"""Password-reset tokens and the lookup by address in the SQL store, on SQLite and PostgreSQL.

test_fake_contract.py runs the same cases over the in-memory fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from authsvc.store import Store, open_store
from authsvc.store.base import PASSWORD_RESET, VERIFY_EMAIL, NewEmailToken, UserChanges

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with open_store(database_url, migrate=True) as s:
        yield s


async def alice(store: Store, email: str = "Alice@Example.com") -> str:
    user = await store.create_user(username="alice", email=email, password_hash="old", now=NOW)
    return user.id


def reset_token(user_id: str, digest: str, *, at: datetime = NOW) -> NewEmailToken:
    return NewEmailToken(
        user_id=user_id,
        purpose=PASSWORD_RESET,
        email="Alice@Example.com",
        token_hash=digest,
        created_at=at,
        expires_at=at + timedelta(minutes=30),
    )


async def test_users_by_email_ignores_ascii_case_and_finds_every_holder(store: Store) -> None:
    alice_id = await alice(store)
    bob = await store.create_user(
        username="bob", email="alice@example.COM", password_hash="h", now=NOW
    )
    await store.create_user(username="carol", email="carol@example.com", password_hash="h", now=NOW)
    found = await store.users_by_email("ALICE@example.com")
    assert [u.id for u in found] == [alice_id, bob.id]
    assert await store.users_by_email("nobody@example.com") == []
    await store.delete_user(bob.id, now=NOW, keep_holder_of="admin")
    assert [u.id for u in await store.users_by_email("alice@example.com")] == [alice_id]


async def test_a_reset_token_sets_the_password_once_and_verifies_the_address(
    store: Store,
) -> None:
    user_id = await alice(store)
    await store.issue_email_token(reset_token(user_id, "r1"))
    found = await store.find_email_token("r1", purpose=PASSWORD_RESET, now=LATER)
    assert found is not None and found.user_id == user_id
    # Finding is not using; a token of another purpose is not found.
    assert await store.find_email_token("r1", purpose=VERIFY_EMAIL, now=LATER) is None
    assert await store.reset_password("r1", "new", now=LATER) == user_id
    user = await store.get_user(user_id)
    assert user is not None
    assert (user.password_hash, user.password_changed_at, user.email_verified_at) == (
        "new",
        LATER,
        LATER,
    )
    assert await store.reset_password("r1", "newer", now=LATER) is None
    assert await store.find_email_token("r1", purpose=PASSWORD_RESET, now=LATER) is None
    assert (await store.get_user(user_id)).password_hash == "new"  # type: ignore[union-attr]


async def test_expired_older_and_verification_tokens_reset_nothing(store: Store) -> None:
    user_id = await alice(store)
    await store.issue_email_token(reset_token(user_id, "r1"))
    await store.issue_email_token(reset_token(user_id, "r2"))
    assert await store.reset_password("r1", "new", now=LATER) is None  # superseded
    assert await store.reset_password("r2", "new", now=NOW + timedelta(minutes=30)) is None
    verify = NewEmailToken(
        user_id=user_id,
        purpose=VERIFY_EMAIL,
        email="Alice@Example.com",
        token_hash="v1",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )
    await store.issue_email_token(verify)
    assert await store.reset_password("v1", "new", now=LATER) is None
    assert (await store.get_user(user_id)).password_hash == "old"  # type: ignore[union-attr]


async def test_a_password_change_or_disabling_since_the_issue_ends_the_token(
    store: Store,
) -> None:
    user_id = await alice(store)
    await store.issue_email_token(reset_token(user_id, "r1"))
    assert await store.set_password_hash(user_id, "changed", changed_at=LATER)
    assert await store.reset_password("r1", "new", now=LATER) is None
    # A transparent re-hash (no change of password) leaves a token working.
    await store.issue_email_token(reset_token(user_id, "r2", at=LATER))
    assert await store.set_password_hash(user_id, "rehashed", changed_at=None)
    assert await store.reset_password("r2", "new", now=LATER) == user_id
    # A disabled account is not reset.
    await store.issue_email_token(reset_token(user_id, "r3", at=LATER))
    await store.update_user(user_id, UserChanges(disabled=True), now=LATER, keep_holder_of="admin")
    assert await store.reset_password("r3", "other", now=LATER) is None
    assert (await store.get_user(user_id)).password_hash == "new"  # type: ignore[union-attr]


async def test_a_reset_of_a_changed_address_leaves_the_new_one_unverified(store: Store) -> None:
    user_id = await alice(store, email="new@example.com")
    await store.issue_email_token(reset_token(user_id, "r1"))  # mailed to the old address
    assert await store.reset_password("r1", "new", now=LATER) == user_id
    assert (await store.get_user(user_id)).email_verified_at is None  # type: ignore[union-attr]


async def test_concurrent_resets_with_one_token_have_one_winner(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as first, open_store(database_url) as other:
        user_id = await alice(first)
        await first.issue_email_token(reset_token(user_id, "r1"))
        results = await asyncio.gather(
            *(s.reset_password("r1", f"h{i}", now=LATER) for i, s in enumerate([first, other] * 5))
        )
    assert results.count(user_id) == 1
