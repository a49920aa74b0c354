"""The one place that builds authsvc's objects, for the server and for the command line.

`open_core` opens what every command needs and nothing that signs tokens, so it runs without
signing secrets; `open_services` adds what serving needs on top. Each is built once, given the
one clock, and closed in the reverse order of opening (the argon2 pool included) on exit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace

from authsvc.background import BackgroundWork, running_background
from authsvc.client_ip import ClientAddressResolver
from authsvc.clock import Clock, utc_now
from authsvc.events import Observer
from authsvc.keys import KeyRing
from authsvc.mail.outbox import Mailer
from authsvc.mail.sender import running_sender
from authsvc.mail.wiring import build_mail
from authsvc.metrics import Metrics
from authsvc.observers.fan_out import build_observer
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.readiness import Probe
from authsvc.revocation import RevocationList, open_revocation_list
from authsvc.services.accounts import AccountService
from authsvc.services.admin import AdminService
from authsvc.services.audit import AuditService
from authsvc.services.authenticator import Authenticator
from authsvc.services.email_change import EmailChangeService
from authsvc.services.email_verification import EmailVerification, LinkMailer
from authsvc.services.housekeeping import AuditPurger, SessionPurger, periodic_purge
from authsvc.services.password_change import PasswordChangeService
from authsvc.services.password_reset import PasswordReset
from authsvc.services.session_ending import SessionEnder
from authsvc.services.sessions import SessionService
from authsvc.settings import Settings
from authsvc.shared_redis import open_redis
from authsvc.store import Store, open_store
from authsvc.throttle import LoginThrottle, build_throttle
from authsvc.tokens import TokenService

log = logging.getLogger("authsvc")


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
        )

    def admin(self, revocations: RevocationList) -> AdminService:
        """The administration flows; `revocations` carries the sessions they end."""
        return AdminService(
            store=self.store,
            accounts=self.accounts(),
            passwords=self.passwords,
            policy=self.policy,
            ender=SessionEnder(store=self.store, revocations=revocations, observer=self.observer),
            clock=self.clock,
            observer=self.observer,
        )


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request may need, built once per app; `deps.py` hands out its fields."""

    core: Core
    tokens: TokenService
    revocations: RevocationList
    throttle: LoginThrottle
    accounts: AccountService
    sessions: SessionService
    password_changes: PasswordChangeService
    email_verification: EmailVerification
    password_reset: PasswordReset
    email_change: EmailChangeService
    # Work requests start without waiting for it (reset mails), finished at shutdown.
    background: BackgroundWork
    # None in production without SMTP_URL: no mail is queued.
    mailer: Mailer | None
    authenticator: Authenticator
    audit: AuditService
    admin: AdminService
    client_addresses: ClientAddressResolver
    # Besides the store, which /readyz always asks: Redis, when configured.
    readiness_probes: Mapping[str, Probe]
    metrics: Metrics | None

    @property
    def observer(self) -> Observer:
        return self.core.observer

    def with_store(self, store: Store) -> Services:
        """The same services over another store, such as one whose database is unreachable.

        The revocation list keeps the store it was loaded from: it answers from memory. The
        audit log writes to the new store.
        """
        return assemble(
            replace(
                self.core,
                store=store,
                observer=build_observer(self.metrics, audit_store=store, clock=self.core.clock),
            ),
            tokens=self.tokens,
            revocations=self.revocations,
            throttle=self.throttle,
            readiness_probes=self.readiness_probes,
            metrics=self.metrics,
            mailer=self.mailer,
            background=self.background,
        )


def assemble(
    core: Core,
    *,
    tokens: TokenService,
    revocations: RevocationList,
    throttle: LoginThrottle,
    readiness_probes: Mapping[str, Probe],
    metrics: Metrics | None,
    mailer: Mailer | None = None,
    background: BackgroundWork | None = None,
) -> Services:
    """The services over parts already opened; `open_services` opens them."""
    background = background if background is not None else BackgroundWork()
    ender = SessionEnder(store=core.store, revocations=revocations, observer=core.observer)
    links = LinkMailer(store=core.store, mailer=mailer, settings=core.settings, clock=core.clock)
    verification = EmailVerification(links=links, throttle=throttle, observer=core.observer)
    accounts = core.accounts(throttle, verification=verification)
    return Services(
        core=core,
        tokens=tokens,
        revocations=revocations,
        throttle=throttle,
        accounts=accounts,
        sessions=SessionService(
            store=core.store,
            tokens=tokens,
            accounts=accounts,
            revocations=revocations,
            throttle=throttle,
            settings=core.settings,
            clock=core.clock,
            observer=core.observer,
            verification=verification,
        ),
        password_changes=PasswordChangeService(
            accounts=accounts,
            throttle=throttle,
            ender=ender,
            clock=core.clock,
            observer=core.observer,
        ),
        email_verification=verification,
        password_reset=PasswordReset(
            links=links,
            passwords=core.passwords,
            policy=core.policy,
            throttle=throttle,
            ender=ender,
            observer=core.observer,
            background=background,
        ),
        email_change=EmailChangeService(
            links=links, accounts=accounts, throttle=throttle, observer=core.observer
        ),
        background=background,
        mailer=mailer,
        authenticator=Authenticator(
            tokens=tokens,
            revocations=revocations,
            clock=core.clock,
            cache_size=core.settings.verify_cache_size,
        ),
        audit=AuditService(store=core.store),
        admin=core.admin(revocations),
        client_addresses=ClientAddressResolver(core.settings.trusted_proxies),
        readiness_probes=readiness_probes,
        metrics=metrics,
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
            )
        )
        passwords = PasswordService(settings)
        stack.push_async_callback(passwords.aclose)
        if observer is None:
            observer = build_observer(metrics, audit_store=store, clock=clock)
        yield Core(
            settings=settings,
            clock=clock,
            store=store,
            passwords=passwords,
            policy=PasswordPolicy(settings),
            observer=observer,
        )


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    keys: KeyRing | None = None,
    clock: Clock = utc_now,
) -> AsyncIterator[Services]:
    """Every service of a serving process, with the background purge and the mail outbox
    sender running meanwhile.

    `metrics` is built by the caller because its middleware exists before the app starts;
    `keys` may be too, so that bad key material is refused before the app is built.
    """
    # First, so bad key material fails before anything is opened.
    tokens = TokenService(settings, keys=keys)
    PasswordPolicy.warm_up()
    async with AsyncExitStack() as stack:
        core = await stack.enter_async_context(open_core(settings, clock=clock, metrics=metrics))
        log.info(
            "password hashing: %d at once, up to %d more waiting; argon2 memory up to %d MiB",
            core.passwords.concurrency,
            settings.hash_queue_limit,
            core.passwords.concurrency * settings.argon2_memory_kib // 1024,
        )
        redis = await stack.enter_async_context(open_redis(settings))
        revocations = await stack.enter_async_context(
            open_revocation_list(settings, store=core.store, clock=clock, redis=redis)
        )
        await stack.enter_async_context(
            periodic_purge(
                (core.purger, core.audit_purger), settings.session_purge_interval_seconds
            )
        )
        mail = build_mail(settings, store=core.store, clock=clock, metrics=metrics)
        await stack.enter_async_context(running_sender(mail[1] if mail else None))
        # Entered after the sender, so left before it: mails queued by the last background
        # work are still in the outbox, which every replica's sender delivers.
        background = await stack.enter_async_context(running_background())
        yield assemble(
            core,
            tokens=tokens,
            revocations=revocations,
            throttle=build_throttle(settings, redis),
            readiness_probes={"redis": redis.ping} if redis is not None else {},
            metrics=metrics,
            mailer=mail[0] if mail else None,
            background=background,
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
    ):
        yield core.admin(revocations)
