"""Failed-login throttling on moving windows, with the `limits` library.

Three buckets, each counting failures only:

- per client IP, across accounts: stops one address from spraying many accounts;
- per account and client IP: stops one address from guessing one account;
- per account, across IPs: caps distributed guessing, on a short window so it lets go as soon
  as an attack stops (throttling slows an attacker down; it never locks the real user out).

A request is refused before its password is checked when any bucket is full, so throttled
attempts cost no hashing and do not extend the window. Keys are hashes: the store never holds
usernames or addresses in the clear.

With a shared storage (Redis) the counts hold across replicas. If that storage fails, each
replica counts in its own memory until it is back: throttling gets looser by at most the number
of replicas, but never switches off and never locks everybody out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from authsvc.errors import Throttled

T = TypeVar("T")

log = logging.getLogger("authsvc.throttle")


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
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
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
        retry_after = await self._shared_or_local(self._retry_after, account, ip)
        if retry_after is not None:
            raise Throttled(retry_after=max(1, math.ceil(retry_after)))

    async def failed(self, account: str, ip: str | None) -> None:
        await self._shared_or_local(self._hit, account, ip)

    async def succeeded(self, account: str, ip: str | None) -> None:
        """The right password from this address: forget its failures on this account."""
        await self._shared_or_local(self._clear, account, ip)

    async def _shared_or_local(
        self,
        operation: Callable[[MovingWindowRateLimiter, dict[str, str]], Awaitable[T]],
        account: str,
        ip: str | None,
    ) -> T:
        identifiers = self._identifiers(account, ip)
        try:
            return await operation(self._limiter, identifiers)
        except StorageError:
            log.warning("throttle storage unavailable; counting in this process for now")
            return await operation(self._fallback, identifiers)

    async def _retry_after(
        self, limiter: MovingWindowRateLimiter, identifiers: dict[str, str]
    ) -> float | None:
        """None when every bucket has room, else the seconds until all of them do."""
        full, retry_after = False, 0.0
        for bucket, items in self._buckets:
            for item in items:
                if not await limiter.test(item, "login", bucket, identifiers[bucket]):
                    stats = await limiter.get_window_stats(
                        item, "login", bucket, identifiers[bucket]
                    )
                    full = True
                    retry_after = max(retry_after, stats.reset_time - time.time())
        return retry_after if full else None

    async def _hit(self, limiter: MovingWindowRateLimiter, identifiers: dict[str, str]) -> None:
        for bucket, items in self._buckets:
            for item in items:
                await limiter.hit(item, "login", bucket, identifiers[bucket])

    async def _clear(self, limiter: MovingWindowRateLimiter, identifiers: dict[str, str]) -> None:
        for item in dict(self._buckets)["account_ip"]:
            await limiter.clear(item, "login", "account_ip", identifiers["account_ip"])
