"""Second factors of every kind, counted in one read and added up."""

from __future__ import annotations

from datetime import UTC, datetime

from authsvc.services.passkeys import PasskeyFactor
from authsvc.services.second_factors import Held, SecondFactors
from authsvc.services.totp import TotpFactor
from authsvc.store.mfa_base import FactorCounts
from tests.support.fakes import InMemoryStore
from tests.unit.store.test_passkeys import passkey

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def _with_totp(store: InMemoryStore, user_id: str, *, confirmed: bool = True) -> None:
    await store.begin_totp(user_id, "sealed", now=NOW)
    if confirmed:
        await store.confirm_totp(
            user_id, sealed_secret="sealed", step=1, recovery_hashes=[], now=NOW
        )


def _factors(store: InMemoryStore) -> SecondFactors:
    return SecondFactors(store, [TotpFactor(store), PasskeyFactor(store)])


async def test_methods_in_kind_order_and_factors_summed() -> None:
    store = InMemoryStore()
    await _with_totp(store, "u1")
    for owner in ("u1", "u1", "u2"):
        await store.add_passkey(passkey(owner))
    factors = _factors(store)

    assert await factors.held("u1") == Held(("totp", "recovery_code", "passkey"), 3)
    assert await factors.held("u2") == Held(("passkey",), 1)
    assert await factors.has_any("u2")


async def test_an_account_without_factors_holds_none() -> None:
    store = InMemoryStore()
    await _with_totp(store, "u2", confirmed=False)  # a setup awaiting its first code
    factors = _factors(store)

    assert await factors.held("u9") == Held()
    assert not await factors.has_any("u9")
    assert not await factors.has_any("u2")
    assert not await SecondFactors(store, []).has_any("u1")


async def test_each_kind_reads_its_own_part_of_the_count() -> None:
    store = InMemoryStore()
    counts = FactorCounts(totp=1, passkeys=2)

    assert TotpFactor(store).held_in(counts) == Held(("totp", "recovery_code"), 1)
    assert PasskeyFactor(store).held_in(counts) == Held(("passkey",), 2)
    assert PasskeyFactor(store).held_in(FactorCounts(totp=1)) == Held()


async def test_remove_all_asks_every_kind_and_counts_what_went() -> None:
    store = InMemoryStore()
    await _with_totp(store, "u1")
    for owner in ("u1", "u1", "u2"):
        await store.add_passkey(passkey(owner))
    factors = _factors(store)

    assert await factors.remove_all("u1") == 3
    assert not await factors.has_any("u1")
    assert await factors.has_any("u2")
    assert await factors.remove_all("u1") == 0


async def test_without_leaves_out_one_kind() -> None:
    store = InMemoryStore()
    await _with_totp(store, "u1")
    for _ in range(2):
        await store.add_passkey(passkey("u1"))
    factors = _factors(store)

    assert await factors.without(PasskeyFactor).held("u1") == Held(("totp", "recovery_code"), 1)
    assert await factors.held("u1") == Held(("totp", "recovery_code", "passkey"), 3)
