"""Password-reset tokens and the lookup by address in the SQL store, on SQLite and PostgreSQL.

test_fake_contract.py runs the same cases over the in-memory fake.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from authsvc.store import Store, open_store
from authsvc.store.records import (
    CHANGE_EMAIL,
    PASSWORD_RESET,
    VERIFY_EMAIL,
    EmailChange,
    NewEmailToken,
    UserChanges,
)
from tests.unit.store.test_outbox import token

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)


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
    verify = token(user_id, "v1", email="Alice@Example.com")
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


async def test_a_link_mailed_to_another_address_resets_nothing(store: Store) -> None:
    user_id = await alice(store, email="new@example.com")
    await store.issue_email_token(reset_token(user_id, "r1"))  # mailed to the old address
    assert await store.reset_password("r1", "new", now=LATER) is None
    user = await store.get_user(user_id)
    assert user is not None and (user.password_hash, user.email_verified_at) == ("old", None)


def change_token(user_id: str, digest: str, email: str) -> NewEmailToken:
    return replace(token(user_id, digest, email=email), purpose=CHANGE_EMAIL)


async def test_a_change_token_moves_the_account_to_its_address_once(store: Store) -> None:
    user_id = await alice(store)
    await store.issue_email_token(change_token(user_id, "c1", "new@example.com"))
    # Neither a verification nor a reset uses it.
    assert await store.verify_email("c1", now=LATER) is None
    assert await store.reset_password("c1", "h", now=LATER) is None
    assert (await store.get_user(user_id)).email == "Alice@Example.com"  # type: ignore[union-attr]
    assert await store.change_email("c1", now=LATER) == EmailChange(
        user_id=user_id, username="alice", previous="Alice@Example.com", email="new@example.com"
    )
    user = await store.get_user(user_id)
    assert user is not None and (user.email, user.email_verified_at) == ("new@example.com", LATER)
    assert await store.change_email("c1", now=LATER) is None
    await store.issue_email_token(change_token(user_id, "c2", "late@example.com"))
    assert await store.change_email("c2", now=NOW + timedelta(hours=1)) is None  # expired


async def test_concurrent_resets_with_one_token_have_one_winner(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as first, open_store(database_url) as other:
        user_id = await alice(first)
        await first.issue_email_token(reset_token(user_id, "r1"))
        results = await asyncio.gather(
            *(s.reset_password("r1", f"h{i}", now=LATER) for i, s in enumerate([first, other] * 5))
        )
    assert results.count(user_id) == 1
