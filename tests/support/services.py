"""Parts of the service layer built in memory, and the container's Core and services over
them, for unit tests that build services without a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from authsvc.clock import Clock
from authsvc.container import Services, assemble
from authsvc.core import Core
from authsvc.events import Observer
from authsvc.observers.security_log import SecurityLog
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.revocation import MemoryRevocationList
from authsvc.services.accounts import AccountService
from authsvc.services.email_verification import EmailVerification
from authsvc.settings import Settings
from authsvc.store import Store
from authsvc.throttle import LoginThrottle
from authsvc.throttle_memory import LocalStorage
from authsvc.tokens import TokenService


def memory_throttle(settings: Settings) -> LoginThrottle:
    """The login throttle under `settings`' limits, counting in this process's memory."""
    return LoginThrottle(
        LocalStorage(),
        key=b"unit-test throttle key",
        per_ip=settings.throttle_per_ip,
        per_account_ip=settings.throttle_per_account_ip,
        per_account=settings.throttle_per_account,
        per_registration_ip=settings.throttle_registration_per_ip,
        per_mfa_account=settings.throttle_mfa_per_account,
    )


def memory_revocations(settings: Settings) -> MemoryRevocationList:
    """A revocation list that remembers as long as an access token can pass, as the app's does."""
    lifetime = settings.access_token_ttl_seconds + settings.jwt_leeway_seconds
    return MemoryRevocationList(remember_for=timedelta(seconds=lifetime))


@dataclass(frozen=True, slots=True)
class RigCore(Core):
    """The container's Core whose account flows are `accounts_class`'s: a subclass of
    AccountService that, say, lets a password change land in the middle of a login."""

    accounts_class: type[AccountService] = AccountService

    def accounts(
        self,
        throttle: LoginThrottle | None = None,
        *,
        verification: EmailVerification | None = None,
    ) -> AccountService:
        accounts = Core.accounts(self, throttle, verification=verification)
        # The same object as the subclass (it adds no state), so the wiring stays Core's own.
        accounts.__class__ = self.accounts_class
        return accounts


@asynccontextmanager
async def rig_core(
    settings: Settings,
    *,
    store: Store,
    clock: Clock,
    observer: Observer | None = None,
    accounts_class: type[AccountService] = AccountService,
) -> AsyncIterator[RigCore]:
    """A Core as `open_core` builds it, over a store, clock and observer the test holds
    (events go to the security log unless told); its argon2 pool is closed on exit."""
    passwords = PasswordService(settings)
    try:
        yield RigCore(
            settings=settings,
            clock=clock,
            store=store,
            passwords=passwords,
            policy=PasswordPolicy(settings),
            observer=observer if observer is not None else SecurityLog(),
            accounts_class=accounts_class,
        )
    finally:
        await passwords.aclose()


def rig_services(core: Core) -> Services:
    """Every service as the app's container assembles them over `core`, with the throttle
    and the revocation list in memory and no mail."""
    return assemble(
        core,
        tokens=TokenService(core.settings),
        revocations=memory_revocations(core.settings),
        throttle=memory_throttle(core.settings),
        readiness_probes={},
        metrics=None,
    )
