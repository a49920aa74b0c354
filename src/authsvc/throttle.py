"""Failed-login throttling on moving windows, with the `limits` library.

Three buckets, each counting failures only:

- per client IP, across accounts: stops one address from spraying many accounts;
- per account and client IP: stops one address from guessing one account;
- per account, across IPs: caps distributed guessing, on a short window so it lets go as soon
  as an attack stops (throttling slows an attacker down; it never locks the real user out).

A request is refused before its password is checked when any bucket is full, so throttled
attempts cost no hashing and do not extend the window. Keys are hashes: the store never holds
usernames or addresses in the clear.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from authsvc.errors import Throttled


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        *,
        per_ip: str,
        per_account_ip: str,
        per_account: str,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._buckets: list[tuple[str, list[RateLimitItem]]] = [
            ("ip", parse_many(per_ip)),
            ("account_ip", parse_many(per_account_ip)),
            ("account", parse_many(per_account)),
        ]

    def _identifiers(self, account: str, ip: str | None) -> dict[str, str]:
        address = ip or "unknown"
        return {
            "ip": _key("ip", address),
            "account_ip": _key("account_ip", account, address),
            "account": _key("account", account),
        }

    async def check(self, account: str, ip: str | None) -> None:
        """Raises: Throttled, with the seconds until the fullest bucket has room again."""
        identifiers = self._identifiers(account, ip)
        full, retry_after = False, 0.0
        for bucket, items in self._buckets:
            for item in items:
                if not await self._limiter.test(item, "login", bucket, identifiers[bucket]):
                    stats = await self._limiter.get_window_stats(
                        item, "login", bucket, identifiers[bucket]
                    )
                    full = True
                    retry_after = max(retry_after, stats.reset_time - time.time())
        if full:
            raise Throttled(retry_after=max(1, math.ceil(retry_after)))

    async def failed(self, account: str, ip: str | None) -> None:
        identifiers = self._identifiers(account, ip)
        for bucket, items in self._buckets:
            for item in items:
                await self._limiter.hit(item, "login", bucket, identifiers[bucket])

    async def succeeded(self, account: str, ip: str | None) -> None:
        """The right password from this address: forget its failures on this account."""
        identifiers = self._identifiers(account, ip)
        for item in dict(self._buckets)["account_ip"]:
            await self._limiter.clear(item, "login", "account_ip", identifiers["account_ip"])
