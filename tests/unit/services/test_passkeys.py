"""Passkeys as a kind of second factor: what the login step and removals are told."""

from __future__ import annotations

from authsvc.services.passkeys import PasskeyFactor
from authsvc.services.second_factors import Held, SecondFactors
from tests.support.fakes import InMemoryStore
from tests.unit.store.test_passkeys import passkey


async def test_each_passkey_is_one_factor_offered_as_one_method() -> None:
    store = InMemoryStore()
    factors = SecondFactors(store, [PasskeyFactor(store)])
    assert await factors.held("u1") == Held()

    for _ in range(2):
        await store.add_passkey(passkey("u1"))
    await store.add_passkey(passkey("u2"))

    assert await factors.held("u1") == Held(methods=("passkey",), factors=2)
    assert await factors.has_any("u2")
