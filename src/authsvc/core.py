"""What every command needs, and nothing that signs tokens, so it runs without signing
secrets: the store, password hashing, the observer and the flows built from them alone.

`open_core` builds it once, given the one clock, and closes it in the reverse order of opening
(the argon2 pool included); container.py builds a serving process's services on top.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from authsvc.clock import Clock, utc_now
from authsvc.events import Observer
from authsvc.metrics import Metrics
from authsvc.observers.fan_out import build_observer
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.revocation import RevocationList, open_profile_feed, open_revocation_list
from authsvc.services.accounts import AccountService
from authsvc.services.admin import AdminService
from authsvc.services.email_verification import EmailVerification
from authsvc.services.housekeeping import AuditPurger, SessionPurger
from authsvc.services.passkeys import PasskeyFactor
from authsvc.services.profile_cache import ProfileCache
from authsvc.services.profile_watch import ProfileWatchingStore
from authsvc.services.second_factors import SecondFactors
from authsvc.services.session_ending import SessionEnder
from authsvc.services.totp import TotpFactor
from authsvc.settings import Settings
from authsvc.shared_redis import open_redis
from authsvc.store import Store, open_store
from authsvc.throttle import LoginThrottle


@dataclass(frozen=True, slots=True)
class Core:
    """What every command needs: the store, password hashing and the purges of old rows."""

    settings: Settings
    clock: Clock
    store: Store
    passwords: PasswordService
    policy: PasswordPolicy
    # Where every flow reports its events: the security log, the audit log in the store, and
    # the metrics when serving.
    observer: Observer
    # Profiles /auth/me showed, told of every change `store` makes; None keeps none.
    profiles: ProfileCache | None = None

    # The purges of this core's store: built when asked, so that they follow `replace`.
    @property
    def purger(self) -> SessionPurger:
        return SessionPurger(
            store=self.store, settings=self.settings, clock=self.clock, observer=self.observer
        )

    @property
    def audit_purger(self) -> AuditPurger:
        return AuditPurger(
            store=self.store, settings=self.settings, clock=self.clock, observer=self.observer
        )

    def accounts(
        self,
        throttle: LoginThrottle | None = None,
        *,
        verification: EmailVerification | None = None,
    ) -> AccountService:
        """The account flows; registration is throttled only when given a throttle, and
        mails a verification link only when given `verification`."""
        return AccountService(
            store=self.store,
            passwords=self.passwords,
            policy=self.policy,
            clock=self.clock,
            registration_enabled=self.settings.registration_enabled,
            throttle=throttle,
            observer=self.observer,
            verification=verification,
            profiles=self.profiles,
        )

    @property
    def second_factors(self) -> SecondFactors:
        """Every kind of second factor an account may hold; another kind is one more entry."""
        return SecondFactors(self.store, [TotpFactor(self.store), PasskeyFactor(self.store)])

    def ender(self, revocations: RevocationList) -> SessionEnder:
        """The one way a session ends; `revocations` stops its access tokens at once."""
        return SessionEnder(store=self.store, revocations=revocations, observer=self.observer)

    def admin(self, revocations: RevocationList) -> AdminService:
        """The administration flows; `revocations` carries the sessions they end."""
        return AdminService(
            store=self.store,
            accounts=self.accounts(),
            passwords=self.passwords,
            policy=self.policy,
            ender=self.ender(revocations),
            factors=self.second_factors,
            clock=self.clock,
            observer=self.observer,
        )


@asynccontextmanager
async def open_core(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    migrate: bool | None = None,
    create_directories: bool = False,
    observer: Observer | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Core]:
    """The store (migrated when `migrate`, by default MIGRATE_ON_START) and password hashing.

    Events go to `observer`, by default the security log, the audit log in the store, and
    `metrics` when given.
    """
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            open_store(
                settings.database_url,
                migrate=settings.migrate_on_start if migrate is None else migrate,
                create_directories=create_directories,
                pool_size=settings.database_pool_size,
            )
        )
        passwords = PasswordService(settings)
        stack.push_async_callback(passwords.aclose)
        if observer is None:
            observer = build_observer(metrics, audit_store=store, clock=clock)
        profiles = ProfileCache(max_age_seconds=settings.profile_cache_seconds, clock=clock)
        yield Core(
            settings=settings,
            clock=clock,
            store=ProfileWatchingStore(store, profiles),
            passwords=passwords,
            policy=PasswordPolicy(settings),
            observer=observer,
            profiles=profiles,
        )


@asynccontextmanager
async def open_admin(core: Core) -> AsyncIterator[AdminService]:
    """The administration flows for a command: the sessions they end reach every replica
    through Redis when REDIS_URL is set (a server without Redis reloads them at its start)."""
    async with (
        open_redis(core.settings) as redis,
        open_revocation_list(
            core.settings, store=core.store, clock=core.clock, redis=redis
        ) as revocations,
        open_profile_feed(core.settings, listener=core.profiles, redis=redis, listen=False),
    ):
        yield core.admin(revocations)
