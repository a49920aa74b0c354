"""Second factors of every kind, added up."""

from __future__ import annotations

from authsvc.services.second_factors import Held, SecondFactors
from tests.support.factors import FakeFactorKind as Kind


async def test_methods_in_kind_order_and_factors_summed() -> None:
    app = Kind({"u1": Held(("totp", "recovery_code"), 1)})
    keys = Kind({"u1": Held(("passkey",), 2), "u2": Held(("passkey",), 1)})
    factors = SecondFactors([app, keys])

    assert await factors.held("u1") == Held(("totp", "recovery_code", "passkey"), 3)
    assert await factors.held("u2") == Held(("passkey",), 1)
    assert await factors.has_any("u2")


async def test_an_account_without_factors_holds_none() -> None:
    factors = SecondFactors([Kind({}), Kind({"u1": Held(("passkey",), 1)})])
    assert await factors.held("u9") == Held()
    assert not await factors.has_any("u9")
    assert not await SecondFactors([]).has_any("u1")


async def test_remove_all_asks_every_kind_and_counts_what_went() -> None:
    app = Kind({"u1": Held(("totp", "recovery_code"), 1)})
    keys = Kind({"u1": Held(("passkey",), 2), "u2": Held(("passkey",), 1)})
    factors = SecondFactors([app, keys])

    assert await factors.remove_all("u1") == 3
    assert not await factors.has_any("u1")
    assert await factors.has_any("u2")
    assert await factors.remove_all("u1") == 0


async def test_without_leaves_out_one_kind() -> None:
    class Keys(Kind):
        pass

    app = Kind({"u1": Held(("totp", "recovery_code"), 1)})
    factors = SecondFactors([app, Keys({"u1": Held(("passkey",), 2)})])

    assert await factors.without(Keys).held("u1") == Held(("totp", "recovery_code"), 1)
    assert await factors.held("u1") == Held(("totp", "recovery_code", "passkey"), 3)
