"""The one place that builds authsvc's objects, for the server and for the command line.

`open_core` (core.py) opens what every command needs and nothing that signs tokens, so it runs
without signing secrets; `open_services` adds what serving needs on top. Each is built once,
given the one clock, and closed in the reverse order of opening on exit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace

from authsvc.background import BackgroundWork, running_background
from authsvc.client_ip import ClientAddressResolver
from authsvc.clock import Clock, utc_now
from authsvc.core import Core, open_core
from authsvc.events import Observer
from authsvc.keys import KeyRing
from authsvc.mail.outbox import Mailer
from authsvc.mail.sender import running_sender
from authsvc.mail.wiring import build_mail
from authsvc.metrics import Metrics
from authsvc.mfa.sealing import Sealer
from authsvc.mfa.wiring import build_sealer
from authsvc.observers.fan_out import build_observer
from authsvc.passwords import PasswordPolicy
from authsvc.readiness import Probe
from authsvc.revocation import RevocationList, open_profile_feed, open_revocation_list
from authsvc.services.accounts import AccountService
from authsvc.services.admin import AdminService
from authsvc.services.audit import AuditService
from authsvc.services.authenticator import Authenticator
from authsvc.services.email_change import EmailChangeService
from authsvc.services.email_verification import EmailVerification
from authsvc.services.housekeeping import periodic_purge
from authsvc.services.mail_flows import build_mail_flows
from authsvc.services.mfa_wiring import build_mfa
from authsvc.services.passkey_login import PasskeyFlows, build_passkey_flows
from authsvc.services.passkey_step import PasskeyStep
from authsvc.services.passkeys import PasskeyFactor
from authsvc.services.password_change import PasswordChangeService
from authsvc.services.password_reset import PasswordReset
from authsvc.services.sessions import SessionService
from authsvc.services.totp import TotpService
from authsvc.services.two_step_login import TwoStepLogin
from authsvc.settings import Settings
from authsvc.shared_redis import open_redis
from authsvc.store import Store
from authsvc.throttle import LoginThrottle, build_throttle
from authsvc.tokens import TokenService

log = logging.getLogger("authsvc")


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request may need, built once per app; `deps.py` hands out its fields."""

    core: Core
    tokens: TokenService
    revocations: RevocationList
    throttle: LoginThrottle
    accounts: AccountService
    sessions: SessionService
    # Login with a second factor, and TOTP enrolment.
    login: TwoStepLogin
    totp: TotpService
    password_changes: PasswordChangeService
    email_verification: EmailVerification
    password_reset: PasswordReset
    email_change: EmailChangeService
    passkeys: PasskeyFlows
    # A passkey as the second login step: its challenge (the answer goes to `login`).
    passkey_step: PasskeyStep
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
                profiles=None,  # its entries came from the other store
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
    sealer: Sealer | None = None,
) -> Services:
    """The services over parts already opened; `open_services` opens them.

    `sealer` is None when TOTP is off; by default it is built from the settings.
    """
    sealer = sealer if sealer is not None else build_sealer(core.settings)
    background = background if background is not None else BackgroundWork()
    ender = core.ender(revocations)
    mail = build_mail_flows(
        core, throttle=throttle, ender=ender, mailer=mailer, background=background
    )
    sessions = SessionService(
        store=core.store,
        tokens=tokens,
        accounts=mail.accounts,
        revocations=revocations,
        throttle=throttle,
        settings=core.settings,
        clock=core.clock,
        observer=core.observer,
        verification=mail.verification,
    )
    passkeys = build_passkey_flows(
        settings=core.settings,
        store=core.store,
        accounts=mail.accounts,
        sessions=sessions,
        other_factors=core.second_factors.without(PasskeyFactor),
        throttle=throttle,
        clock=core.clock,
        observer=core.observer,
    )
    mfa = build_mfa(
        core,
        sessions=sessions,
        accounts=mail.accounts,
        throttle=throttle,
        mailer=mailer,
        sealer=sealer,
        passkeys=passkeys,
    )
    return Services(
        core=core,
        tokens=tokens,
        revocations=revocations,
        throttle=throttle,
        accounts=mail.accounts,
        sessions=sessions,
        login=mfa.login,
        totp=mfa.totp,
        password_changes=PasswordChangeService(
            accounts=mail.accounts,
            throttle=throttle,
            ender=ender,
            clock=core.clock,
            observer=core.observer,
        ),
        email_verification=mail.verification,
        password_reset=mail.password_reset,
        email_change=mail.email_change,
        passkeys=passkeys,
        passkey_step=mfa.passkey_step,
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
            "password hashing: %d at once at nice +%d, up to %d more waiting; "
            "argon2 memory up to %d MiB",
            core.passwords.concurrency,
            settings.hash_nice,
            settings.hash_queue_limit,
            core.passwords.concurrency * settings.argon2_memory_kib // 1024,
        )
        redis = await stack.enter_async_context(open_redis(settings))
        revocations = await stack.enter_async_context(
            open_revocation_list(settings, store=core.store, clock=clock, redis=redis)
        )
        await stack.enter_async_context(
            open_profile_feed(settings, listener=core.profiles, redis=redis)
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
            sealer=build_sealer(settings, announce=True),
        )
