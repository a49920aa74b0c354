"""Throttling of password guesses and registrations on moving windows, with `limits`.

Login and password-change attempts count in three buckets:

- per client address, across accounts: stops one address from spraying many accounts and
  bounds the hashing work one address can cause;
- per account and client address: stops one address from guessing one account;
- per account, across addresses: caps distributed guessing, on a short window so it lets go
  as soon as an attack stops.

A slot is reserved in every bucket before the password is hashed, with `hit()`, which is atomic
in memory and in Redis: under any concurrency no more passwords are checked than the limits
allow. A refused attempt costs no hashing and does not extend a full window. The right password
clears its address's failures on that account and marks the address as proven for the account.

Each storage call is a Redis round trip, and each costs the event loop more CPU than anything
else a login does outside the hash, so none is made that cannot change the outcome: the first
bucket is not tested before it is hit (its hit is that test, atomically), keys are derived only
for the buckets an operation touches, and the proven mark is cleared before it is renewed only
if it was there when the attempt was reserved.

Targeted lockout: the per-account bucket is the only one an attacker elsewhere can fill, so it
does not apply to an address that has proven itself on the account (a successful login within
`proven_for`). The real user keeps logging in from the networks they use while the account is
under attack; a new address waits out the short per-account window like everybody else. A
proven address is held to the per-account-and-address bucket only: its attempts on that one
account are not spraying, and users behind one NAT do not use up each other's address budget
once each has logged in there.

Registrations count per client address only (see `reserve_registration`), requests for
another verification mail per account only (see `reserve_email_resend`), password-reset
requests per client address and per address asked about (see `reserve_forgot`), second-factor
codes per account only, right or wrong (see `reserve_mfa`).

Addresses are grouped before they become keys: IPv4-mapped IPv6 addresses count as the IPv4
address, and IPv6 addresses count per network of `ipv6_prefix` bits, because one subscriber
usually holds a whole /64. Keys are keyed hashes under a secret-derived key, so the shared
storage never holds usernames or addresses in a form that can be checked against a guess.

With a shared storage (Redis) the counts hold across replicas. If that storage fails, each
replica counts in its own memory until it is back: throttling gets looser by at most the number
of replicas, but never switches off and never locks everybody out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from authsvc.errors import Throttled
from authsvc.settings import Settings
from authsvc.throttle_keys import BucketKeys, derive_key, keyed_hash
from authsvc.throttle_memory import LocalStorage

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")

log = logging.getLogger("authsvc.throttle")

Buckets = list[tuple[str, list[RateLimitItem]]]


def build_throttle(settings: Settings, redis: Redis | None) -> LoginThrottle:
    """The throttle the settings ask for; its counters shared through `redis` when given."""
    storage: Storage = LocalStorage()
    if redis is not None and settings.redis_url is not None:
        storage = RedisStorage(
            "async+" + settings.redis_url,
            implementation="redispy",
            key_prefix=f"{settings.redis_prefix}:throttle",
            wrap_exceptions=True,
            # One pool for every user of Redis, closed with the client.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # hint too narrow
        )
    return LoginThrottle(
        storage,
        key=derive_key(settings.secret_values()[1], "throttle keys"),
        per_ip=settings.throttle_per_ip,
        per_account_ip=settings.throttle_per_account_ip,
        per_account=settings.throttle_per_account,
        per_registration_ip=settings.throttle_registration_per_ip,
        per_email_resend=settings.throttle_email_resend,
        per_forgot_ip=settings.throttle_forgot_per_ip,
        per_forgot_email=settings.throttle_forgot_per_email,
        per_passkey_ip=settings.throttle_passkey_per_ip,
        per_mfa_account=settings.throttle_mfa_per_account,
        ipv6_prefix=settings.throttle_ipv6_prefix,
        proven_for=timedelta(days=settings.throttle_proven_address_days),
    )


@dataclass(frozen=True, slots=True)
class Reservation:
    """An attempt `LoginThrottle.reserve` admitted, for `succeeded` when the password was right."""

    keys: BucketKeys
    # The storage that held no proven mark for the address when the attempt was reserved
    # (None if it held one): a success counted there has no mark to clear first.
    unmarked_in: Storage | None


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        *,
        key: bytes,
        per_ip: str,
        per_account_ip: str,
        per_account: str,
        per_registration_ip: str,
        per_email_resend: str = "3/hour",
        per_forgot_ip: str = "5/minute;20/hour",
        per_forgot_email: str = "3/hour",
        per_passkey_ip: str = "30/minute;300/hour",
        per_mfa_account: str = "5/minute;30/hour",
        ipv6_prefix: int = 64,
        proven_for: timedelta = timedelta(days=30),
    ) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._fallback_storage = LocalStorage()
        self._fallback = MovingWindowRateLimiter(self._fallback_storage)
        self._key = key
        self._ipv6_prefix = ipv6_prefix
        self._proven_seconds = int(proven_for.total_seconds())
        self._ip: Buckets = [("ip", parse_many(per_ip))]
        self._account_ip: Buckets = [("account_ip", parse_many(per_account_ip))]
        self._account: Buckets = [("account", parse_many(per_account))]
        self._registration: Buckets = [("register_ip", parse_many(per_registration_ip))]
        self._email_resend: Buckets = [("email_resend", parse_many(per_email_resend))]
        self._forgot_ip: Buckets = [("forgot_ip", parse_many(per_forgot_ip))]
        self._forgot_email: Buckets = [("forgot_email", parse_many(per_forgot_email))]
        self._passkey_ip: Buckets = [("passkey_ip", parse_many(per_passkey_ip))]
        self._mfa: Buckets = [("mfa", parse_many(per_mfa_account))]

    def account_reference(self, account: str) -> str:
        """A stable, non-reversible name for an account in logs (the same on every replica)."""
        return self._hash("account-ref", account)[:16]

    def _hash(self, *parts: str) -> str:
        return keyed_hash(self._key, *parts)

    def _keys(self, account: str, ip: str | None) -> BucketKeys:
        return BucketKeys(self._key, account, ip, ipv6_prefix=self._ipv6_prefix)

    async def reserve(self, account: str, ip: str | None) -> Reservation:
        """Take one attempt from every bucket that applies, before the password is checked;
        hand the reservation to `succeeded` if the password is right.

        Raises: Throttled, with the seconds until the fullest bucket has room again.
        """
        return await self._shared_or_local(self._reserve_attempt, self._keys(account, ip))

    async def reserve_registration(self, ip: str | None) -> None:
        """Take one registration attempt of this address, whatever its outcome.

        Raises: Throttled.
        """
        await self._reserve_only(self._registration, "", ip)

    async def reserve_email_resend(self, user_id: str) -> None:
        """Take one request for another verification mail from this account's budget.

        Raises: Throttled.
        """
        await self._reserve_only(self._email_resend, user_id, None)

    async def reserve_forgot(self, ip: str | None) -> None:
        """Take one password-reset request from this address's budget.

        Raises: Throttled.
        """
        await self._reserve_only(self._forgot_ip, "", ip)

    async def reserve_forgot_target(self, email: str) -> None:
        """Take one password-reset request for this (normalised) address, from any caller.

        Raises: Throttled.
        """
        await self._reserve_only(self._forgot_email, email, None)

    async def reserve_passkey(self, ip: str | None) -> None:
        """Take one passkey login request (options or verification) from this address's budget.

        Raises: Throttled.
        """
        await self._reserve_only(self._passkey_ip, "", ip)

    async def reserve_mfa(self, user_id: str) -> None:
        """Take one second-factor code check from this account's budget, before the code is
        checked: a million TOTP codes must not be guessable at request speed (RFC 6238 §5.2).

        Raises: Throttled.
        """
        await self._reserve_only(self._mfa, user_id, None)

    async def _reserve_only(self, buckets: Buckets, account: str, ip: str | None) -> None:
        await self._shared_or_local(
            lambda limiter, _storage, keys: self._take(limiter, buckets, keys),
            self._keys(account, ip),
        )

    async def succeeded(self, reservation: Reservation) -> None:
        """The right password from the reserved address: forget its failures and trust it on
        the account."""
        await self._shared_or_local(
            lambda limiter, storage, keys: self._remember_success(
                limiter, storage, keys, marked=storage is not reservation.unmarked_in
            ),
            reservation.keys,
        )

    async def _shared_or_local(
        self,
        operation: Callable[[MovingWindowRateLimiter, Storage, BucketKeys], Awaitable[T]],
        keys: BucketKeys,
    ) -> T:
        try:
            return await operation(self._limiter, self._storage, keys)
        except StorageError:
            log.warning("throttle storage unavailable; counting in this process for now")
            return await operation(self._fallback, self._fallback_storage, keys)

    async def _reserve_attempt(
        self, limiter: MovingWindowRateLimiter, storage: Storage, keys: BucketKeys
    ) -> Reservation:
        proven = bool(await storage.get(f"proven/{keys['proven']}"))
        buckets = self._account_ip if proven else self._ip + self._account_ip + self._account
        await self._take(limiter, buckets, keys)
        return Reservation(keys, unmarked_in=None if proven else storage)

    async def _take(
        self, limiter: MovingWindowRateLimiter, buckets: Buckets, keys: BucketKeys
    ) -> None:
        # Every bucket but the first is tested before any is hit, so an attempt a full bucket
        # refuses counts in none of them; the first needs no test, as its hit refuses exactly
        # when the test would and then counts nowhere either. The hits are what is atomic: one
        # refused after earlier ones succeeded (only under a race) leaves those counted, so the
        # limits err towards fewer checks, never more.
        slots = [(bucket, item) for bucket, items in buckets for item in items]
        for bucket, item in slots[1:]:
            if not await limiter.test(item, "login", bucket, keys[bucket]):
                raise Throttled(retry_after=await self._retry_after(limiter, buckets, keys) or 1)
        for bucket, item in slots:
            if not await limiter.hit(item, "login", bucket, keys[bucket]):
                raise Throttled(retry_after=await self._retry_after(limiter, buckets, keys) or 1)

    async def _retry_after(
        self, limiter: MovingWindowRateLimiter, buckets: Buckets, keys: BucketKeys
    ) -> int | None:
        """None when every bucket has room, else the whole seconds until all of them do."""
        full, retry_after = False, 0.0
        for bucket, items in buckets:
            for item in items:
                if not await limiter.test(item, "login", bucket, keys[bucket]):
                    stats = await limiter.get_window_stats(item, "login", bucket, keys[bucket])
                    full = True
                    retry_after = max(retry_after, stats.reset_time - time.time())
        return max(1, math.ceil(retry_after)) if full else None

    async def _remember_success(
        self,
        limiter: MovingWindowRateLimiter,
        storage: Storage,
        keys: BucketKeys,
        *,
        marked: bool,
    ) -> None:
        for bucket, items in self._account_ip:
            for item in items:
                await limiter.clear(item, "login", bucket, keys[bucket])
        # A counter's expiry is set when it is created, and the proof should last
        # `proven_for` from the latest success, not the first: a mark that was there is
        # cleared first. One that was not is created now with its full expiry (a success
        # racing this one that created it meanwhile gave it the same expiry, give or take).
        proven = f"proven/{keys['proven']}"
        if marked:
            await storage.clear(proven)
        await storage.incr(proven, self._proven_seconds)
