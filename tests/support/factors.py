"""A kind of second factor held in a dict: stands in for a kind not built yet (passkeys), so
the rules that read `SecondFactors` can be tested with more than one kind."""

from __future__ import annotations

from authsvc.services.second_factors import Held


class FakeFactorKind:
    def __init__(self, holdings: dict[str, Held]) -> None:
        self.holdings = holdings

    async def held(self, user_id: str) -> Held:
        return self.holdings.get(user_id, Held())

    async def remove_all(self, user_id: str) -> int:
        removed = self.holdings.pop(user_id, Held())
        return removed.factors
