"""Passkeys and WebAuthn challenges in the SQL store, on SQLite and PostgreSQL.

test_fake_contract.py runs the same cases over the in-memory fake.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from authsvc.errors import PasskeyTaken
from authsvc.store import Store
from authsvc.store.factor_records import (
    LOGIN,
    REGISTRATION,
    NewChallenge,
    NewPasskey,
    PasskeyRemoval,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


async def account(store: Store, name: str = "alice") -> str:
    return (await store.create_user(username=name, email=None, password_hash="h", now=NOW)).id


def challenge(purpose: str, user_id: str | None, *, at: datetime = NOW) -> NewChallenge:
    return NewChallenge(
        id=str(uuid.uuid4()),
        purpose=purpose,
        user_id=user_id,
        challenge_hash=uuid.uuid4().hex,
        created_at=at,
        expires_at=at + TTL,
    )


def passkey(owner: str, *, credential_id: str | None = None, count: int = 0) -> NewPasskey:
    return NewPasskey(
        id=str(uuid.uuid4()),
        user_id=owner,
        credential_id=credential_id or uuid.uuid4().hex,
        public_key=b"\xa5cose",
        sign_count=count,
        transports=("internal", "hybrid"),
        aaguid="00000000-0000-0000-0000-000000000000",
        name="Laptop",
        backed_up=False,
        created_at=NOW,
    )


async def test_a_challenge_is_used_once_by_its_purpose_and_owner_only(store: Store) -> None:
    owner, other = await account(store), await account(store, "bob")
    issued = challenge(REGISTRATION, owner)
    await store.add_challenge(issued)

    assert await store.use_challenge(issued.id, purpose=LOGIN, user_id=None, now=NOW) is None
    assert (
        await store.use_challenge(issued.id, purpose=REGISTRATION, user_id=other, now=NOW) is None
    )
    used = await store.use_challenge(issued.id, purpose=REGISTRATION, user_id=owner, now=NOW)
    assert used == issued.challenge_hash
    assert (
        await store.use_challenge(issued.id, purpose=REGISTRATION, user_id=owner, now=NOW) is None
    )


async def test_a_challenge_expires_and_expired_ones_are_cleared(store: Store) -> None:
    old = challenge(LOGIN, None)
    await store.add_challenge(old)
    later = NOW + TTL

    assert await store.use_challenge(old.id, purpose=LOGIN, user_id=None, now=later) is None
    await store.add_challenge(challenge(LOGIN, None, at=later))
    # Gone, not only expired: even a clock running behind cannot use it now.
    assert await store.use_challenge(old.id, purpose=LOGIN, user_id=None, now=NOW) is None


async def test_concurrent_new_challenges_clear_the_expired_without_blocking(store: Store) -> None:
    old = [challenge(LOGIN, None) for _ in range(30)]
    for issued in old:
        await store.add_challenge(issued)
    later = NOW + TTL

    await asyncio.gather(
        *(store.add_challenge(challenge(LOGIN, None, at=later)) for _ in range(10))
    )
    for _ in range(3):  # each clears a bounded batch, whatever the racing ones skipped
        await store.add_challenge(challenge(LOGIN, None, at=later))

    for issued in old:
        assert await store.use_challenge(issued.id, purpose=LOGIN, user_id=None, now=NOW) is None


async def test_a_login_challenge_is_not_a_users(store: Store) -> None:
    owner = await account(store)
    issued = challenge(LOGIN, None)
    await store.add_challenge(issued)
    assert await store.use_challenge(issued.id, purpose=LOGIN, user_id=owner, now=NOW) is None
    assert await store.use_challenge(issued.id, purpose=LOGIN, user_id=None, now=NOW) is not None


async def test_a_challenge_answered_many_times_at_once_is_used_once(store: Store) -> None:
    issued = challenge(LOGIN, None)
    await store.add_challenge(issued)

    results = await asyncio.gather(
        *(store.use_challenge(issued.id, purpose=LOGIN, user_id=None, now=NOW) for _ in range(10))
    )

    assert [r for r in results if r is not None] == [issued.challenge_hash]


async def test_passkeys_are_added_found_listed_renamed_and_unique(store: Store) -> None:
    owner = await account(store)
    added = await store.add_passkey(passkey(owner, credential_id="cred-1"))

    assert await store.find_passkey("cred-1") == added
    assert await store.find_passkey("cred-2") is None
    assert await store.list_passkeys(owner) == [added]
    renamed = await store.rename_passkey(owner, added.id, name="Phone")
    assert renamed is not None
    assert renamed.name == "Phone"
    assert renamed.transports == ("internal", "hybrid")
    assert await store.rename_passkey("someone-else", added.id, name="x") is None
    with pytest.raises(PasskeyTaken):
        await store.add_passkey(passkey(await account(store, "bob"), credential_id="cred-1"))


async def test_the_counter_only_moves_forward(store: Store) -> None:
    owner = await account(store)
    added = await store.add_passkey(passkey(owner, count=5))
    later = NOW + timedelta(minutes=1)

    assert not await store.passkey_used(added.id, sign_count=5, backed_up=False, now=later)
    assert not await store.passkey_used(added.id, sign_count=4, backed_up=False, now=later)
    assert not await store.passkey_used(added.id, sign_count=0, backed_up=False, now=later)
    assert await store.passkey_used(added.id, sign_count=6, backed_up=True, now=later)
    (stored,) = await store.list_passkeys(owner)
    assert (stored.sign_count, stored.backed_up, stored.last_used_at) == (6, True, later)


async def test_a_counter_that_stays_zero_is_an_authenticator_without_one(store: Store) -> None:
    added = await store.add_passkey(passkey(await account(store)))
    assert await store.passkey_used(added.id, sign_count=0, backed_up=False, now=NOW)
    assert await store.passkey_used(added.id, sign_count=0, backed_up=False, now=NOW)


async def test_removal_keeps_the_last_passkey_when_asked(store: Store) -> None:
    owner = await account(store)
    first = await store.add_passkey(passkey(owner))
    second = await store.add_passkey(passkey(owner))

    assert await store.remove_passkey("bob", first.id, keep_last=False) is PasskeyRemoval.NOT_FOUND
    assert await store.remove_passkey(owner, first.id, keep_last=True) is PasskeyRemoval.REMOVED
    assert await store.remove_passkey(owner, second.id, keep_last=True) is PasskeyRemoval.LAST
    assert await store.remove_passkey(owner, second.id, keep_last=False) is PasskeyRemoval.REMOVED
    assert await store.list_passkeys(owner) == []


async def test_racing_removals_keep_the_last_passkey(store: Store) -> None:
    owner = await account(store)
    added = [await store.add_passkey(passkey(owner)) for _ in range(3)]

    outcomes = await asyncio.gather(
        *(store.remove_passkey(owner, p.id, keep_last=True) for p in added)
    )

    assert sorted(o.value for o in outcomes) == ["last", "removed", "removed"]
    assert len(await store.list_passkeys(owner)) == 1


async def test_a_deleted_accounts_passkeys_are_gone(store: Store) -> None:
    owner = await account(store)
    added = await store.add_passkey(passkey(owner))

    await store.delete_user(owner, now=NOW, keep_holder_of="admin")

    assert await store.find_passkey(added.credential_id) is None
    assert await store.list_passkeys(owner) == []
