"""Which second factors an account holds, whatever their kind.

The store counts every kind in one read (every login asks, so it is one round trip, not one
per kind); each kind (an authenticator app, passkeys) reads its own part of the count, and
this adds them up, so the login step knows which methods to offer and a removal knows whether
it takes the last factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from authsvc.store.mfa_base import FactorCounts


@dataclass(frozen=True, slots=True)
class Held:
    """What one kind of factor holds for an account: the login methods it offers (in the
    `methods` of a second-step challenge) and how many separate factors stand behind them."""

    methods: tuple[str, ...] = ()
    factors: int = 0


class FactorKind(Protocol):
    def held_in(self, counts: FactorCounts) -> Held:
        """What of this kind an account holds, from the count of all its factors."""
        ...

    async def remove_all(self, user_id: str) -> int:
        """Remove every factor of this kind the account holds; how many there were."""
        ...


class FactorCounter(Protocol):
    async def count_factors(self, user_id: str) -> FactorCounts: ...


class SecondFactors:
    def __init__(self, counter: FactorCounter, kinds: Sequence[FactorKind]) -> None:
        self._counter = counter
        self._kinds = tuple(kinds)

    async def held(self, user_id: str) -> Held:
        """Every kind's methods, in the order the kinds were given, and the factors summed."""
        if not self._kinds:
            return Held()
        counts = await self._counter.count_factors(user_id)
        answers = [kind.held_in(counts) for kind in self._kinds]
        return Held(
            methods=tuple(name for held in answers for name in held.methods),
            factors=sum(held.factors for held in answers),
        )

    def without(self, kind: type[object]) -> SecondFactors:
        """The other kinds: what remains beside `kind` (a removal of one passkey asks)."""
        return SecondFactors(self._counter, [k for k in self._kinds if not isinstance(k, kind)])

    async def has_any(self, user_id: str) -> bool:
        return (await self.held(user_id)).factors > 0

    async def remove_all(self, user_id: str) -> int:
        """Remove every second factor of every kind (an administrator's reset); how many."""
        return sum([await kind.remove_all(user_id) for kind in self._kinds])
