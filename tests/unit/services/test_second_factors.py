"""Second factors of every kind, added up."""

from __future__ import annotations

from authsvc.services.second_factors import Held, SecondFactors


class Kind:
    def __init__(self, holdings: dict[str, Held]) -> None:
        self._holdings = holdings

    async def held(self, user_id: str) -> Held:
        return self._holdings.get(user_id, Held())


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
