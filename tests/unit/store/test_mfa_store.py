"""The second-factor store: every "once" on the SQL stores (SQLite, PostgreSQL) and the
in-memory fake alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from authsvc.roles import ADMIN
from authsvc.store import Store, open_store
from authsvc.store.factor_records import (
    ChallengeOutcome,
    NewMfaChallenge,
    PasskeyAssertion,
    RecoveryCodeHash,
    TotpStep,
)
from authsvc.store.mfa_base import FactorCounts
from tests.support.fakes import InMemoryStore
from tests.unit.store.test_passkeys import passkey

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LIMIT = 5


@pytest.fixture(params=["memory", "sql"])
async def store(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Store]:
    if request.param == "memory":
        fake: Store = InMemoryStore()
        yield fake
        return
    async with open_store(database_url, migrate=True) as real:
        yield real


async def enabled(store: Store, name: str = "alice", step: int = 100) -> str:
    user = await store.create_user(username=name, email=None, password_hash="h", now=NOW)
    assert await store.begin_totp(user.id, "sealed-1", now=NOW)
    assert await store.confirm_totp(
        user.id, sealed_secret="sealed-1", step=step, recovery_hashes=["r1", "r2"], now=NOW
    )
    return user.id


def challenge(user_id: str, digest: str = "t1", minutes: int = 5) -> NewMfaChallenge:
    return NewMfaChallenge(
        token_hash=digest,
        user_id=user_id,
        password_fingerprint="f",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=minutes),
    )


async def test_setup_replaces_an_unconfirmed_one_and_never_a_confirmed_one(store: Store) -> None:
    user = await store.create_user(username="alice", email=None, password_hash="h", now=NOW)
    assert await store.begin_totp(user.id, "sealed-1", now=NOW)
    assert await store.begin_totp(user.id, "sealed-2", now=NOW)
    # A confirmation for the replaced secret finds nothing to confirm.
    assert not await store.confirm_totp(
        user.id, sealed_secret="sealed-1", step=1, recovery_hashes=[], now=NOW
    )
    assert await store.confirm_totp(
        user.id, sealed_secret="sealed-2", step=1, recovery_hashes=["r"], now=NOW
    )
    assert not await store.begin_totp(user.id, "sealed-3", now=NOW)
    record = await store.get_totp(user.id)
    assert record is not None
    assert (record.sealed_secret, record.confirmed_at, record.last_step) == ("sealed-2", NOW, 1)


async def test_a_time_step_is_accepted_once_and_only_moving_forward(store: Store) -> None:
    user_id = await enabled(store, step=100)
    assert not await store.use_factor(user_id, TotpStep(100), now=NOW)
    assert not await store.use_factor(user_id, TotpStep(99), now=NOW)
    assert await store.use_factor(user_id, TotpStep(101), now=NOW)
    assert not await store.use_factor(user_id, TotpStep(101), now=NOW)


async def test_a_recovery_code_is_used_once_and_only_by_its_account(store: Store) -> None:
    alice = await enabled(store)
    bob = await enabled(store, "bob")
    assert not await store.use_factor(bob, RecoveryCodeHash("nope"), now=NOW)
    assert await store.use_factor(alice, RecoveryCodeHash("r1"), now=NOW)
    assert not await store.use_factor(alice, RecoveryCodeHash("r1"), now=NOW)
    assert (await store.recovery_codes_left(alice), await store.recovery_codes_left(bob)) == (1, 2)


async def test_a_challenge_completes_once_with_a_proof_it_consumes(store: Store) -> None:
    alice = await enabled(store)
    await store.create_mfa_challenge(challenge(alice))

    refused = await store.complete_mfa_challenge("t1", TotpStep(100), now=NOW, max_failures=LIMIT)
    assert refused is ChallengeOutcome.REFUSED  # the step was used: the claim rolled back
    assert await store.live_mfa_challenge("t1", now=NOW, max_failures=LIMIT) is not None

    done = await store.complete_mfa_challenge("t1", TotpStep(101), now=NOW, max_failures=LIMIT)
    assert done is ChallengeOutcome.COMPLETED
    again = await store.complete_mfa_challenge("t1", TotpStep(102), now=NOW, max_failures=LIMIT)
    assert again is ChallengeOutcome.UNUSABLE
    assert await store.use_factor(alice, TotpStep(102), now=NOW)  # 102 was not consumed


async def test_a_passkey_proof_completes_a_challenge_only_with_the_accounts_passkey(
    store: Store,
) -> None:
    alice = await enabled(store)
    bob = await enabled(store, "bob")
    alices = await store.add_passkey(passkey(alice))
    bobs = await store.add_passkey(passkey(bob))
    await store.create_mfa_challenge(challenge(alice))

    crossed = await store.complete_mfa_challenge(
        "t1", PasskeyAssertion(bobs.id), now=NOW, max_failures=LIMIT
    )
    assert crossed is ChallengeOutcome.REFUSED
    await store.remove_all_passkeys(alice)  # an administrator's reset meanwhile
    gone = await store.complete_mfa_challenge(
        "t1", PasskeyAssertion(alices.id), now=NOW, max_failures=LIMIT
    )
    assert gone is ChallengeOutcome.REFUSED

    again = await store.add_passkey(passkey(alice))
    done = await store.complete_mfa_challenge(
        "t1", PasskeyAssertion(again.id), now=NOW, max_failures=LIMIT
    )
    assert done is ChallengeOutcome.COMPLETED


async def test_a_challenge_dies_at_its_expiry_and_at_its_failure_limit(store: Store) -> None:
    alice = await enabled(store)
    await store.create_mfa_challenge(challenge(alice, "t1"))
    await store.create_mfa_challenge(challenge(alice, "t2"))
    later = NOW + timedelta(minutes=5)
    assert await store.live_mfa_challenge("t1", now=later, max_failures=LIMIT) is None
    expired = await store.complete_mfa_challenge("t1", TotpStep(200), now=later, max_failures=5)
    assert expired is ChallengeOutcome.UNUSABLE

    for _ in range(LIMIT - 1):
        await store.fail_mfa_challenge("t2", now=NOW)
    live = await store.live_mfa_challenge("t2", now=NOW, max_failures=LIMIT)
    assert live is not None
    assert (live.user_id, live.failures, live.password_fingerprint) == (alice, 4, "f")
    await store.fail_mfa_challenge("t2", now=NOW)
    assert await store.live_mfa_challenge("t2", now=NOW, max_failures=LIMIT) is None
    assert (
        await store.complete_mfa_challenge("t2", TotpStep(200), now=NOW, max_failures=LIMIT)
        is ChallengeOutcome.UNUSABLE
    )


async def test_removal_takes_the_recovery_codes_along(store: Store) -> None:
    alice = await enabled(store)
    assert await store.delete_totp(alice)
    assert await store.get_totp(alice) is None
    assert await store.recovery_codes_left(alice) == 0
    assert not await store.use_factor(alice, RecoveryCodeHash("r2"), now=NOW)
    assert not await store.delete_totp(alice)


async def test_reseal_writes_only_over_the_value_read(store: Store) -> None:
    alice = await enabled(store)
    assert await store.sealed_totp_secrets() == [(alice, "sealed-1")]
    assert not await store.reseal_totp(alice, old="something else", new="sealed-2")
    assert await store.reseal_totp(alice, old="sealed-1", new="sealed-2")
    assert await store.sealed_totp_secrets() == [(alice, "sealed-2")]


async def test_deleting_an_account_erases_its_second_factors(store: Store) -> None:
    alice = await enabled(store)
    await store.create_mfa_challenge(challenge(alice))
    assert await store.delete_user(alice, now=NOW, keep_holder_of=ADMIN) == []
    assert await store.get_totp(alice) is None
    assert await store.recovery_codes_left(alice) == 0
    assert await store.live_mfa_challenge("t1", now=NOW, max_failures=LIMIT) is None


async def test_factors_are_counted_in_one_read_per_account(store: Store) -> None:
    alice = await enabled(store)
    bob = await store.create_user(username="bob", email=None, password_hash="h", now=NOW)
    carol = await store.create_user(username="carol", email=None, password_hash="h", now=NOW)
    assert await store.begin_totp(bob.id, "sealed-b", now=NOW)  # not confirmed: counts for 0
    for owner in (alice, alice, bob.id):
        await store.add_passkey(passkey(owner))

    assert await store.count_factors(alice) == FactorCounts(totp=1, passkeys=2)
    assert await store.count_factors(bob.id) == FactorCounts(totp=0, passkeys=1)
    assert await store.count_factors(carol.id) == FactorCounts()
    assert await store.count_factors("no-such-account") == FactorCounts()

    assert await store.delete_totp(alice)
    assert await store.remove_all_passkeys(bob.id) == 1
    assert await store.count_factors(alice) == FactorCounts(totp=0, passkeys=2)
    assert await store.count_factors(bob.id) == FactorCounts()
