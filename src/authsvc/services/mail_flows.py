"""The flows that reach a user through a mailed link, wired together for container.py.

They share one link mailer; the account flows come along because registration mails the
verification link and a change of address goes through the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from authsvc.background import BackgroundWork
from authsvc.clock import Clock
from authsvc.events import Observer
from authsvc.mail.outbox import Mailer
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.services.accounts import AccountService
from authsvc.services.email_change import EmailChangeService
from authsvc.services.email_verification import EmailVerification, LinkMailer
from authsvc.services.password_reset import PasswordReset
from authsvc.services.session_ending import SessionEnder
from authsvc.settings import Settings
from authsvc.store import Store
from authsvc.throttle import LoginThrottle


class MailCore(Protocol):
    """What the mail flows take from the container's `Core`, named here so that services/
    does not import the container."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def store(self) -> Store: ...
    @property
    def passwords(self) -> PasswordService: ...
    @property
    def policy(self) -> PasswordPolicy: ...
    @property
    def observer(self) -> Observer: ...

    def accounts(
        self,
        throttle: LoginThrottle | None = None,
        *,
        verification: EmailVerification | None = None,
    ) -> AccountService: ...


@dataclass(frozen=True, slots=True)
class MailFlows:
    accounts: AccountService
    verification: EmailVerification
    password_reset: PasswordReset
    email_change: EmailChangeService


def build_mail_flows(
    core: MailCore,
    *,
    throttle: LoginThrottle,
    ender: SessionEnder,
    mailer: Mailer | None,
    background: BackgroundWork,
) -> MailFlows:
    """The link flows over `mailer` (None in production without SMTP_URL: nothing is mailed)."""
    links = LinkMailer(store=core.store, mailer=mailer, settings=core.settings, clock=core.clock)
    verification = EmailVerification(links=links, throttle=throttle, observer=core.observer)
    accounts = core.accounts(throttle, verification=verification)
    return MailFlows(
        accounts=accounts,
        verification=verification,
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
    )
