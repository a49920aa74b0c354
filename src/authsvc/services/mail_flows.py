"""The flows that reach a user through a mailed link, wired over the Core for container.py.

They share one link mailer; the account flows come along because registration mails the
verification link and a change of address goes through the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from authsvc.background import BackgroundWork
from authsvc.core import Core
from authsvc.mail.outbox import Mailer
from authsvc.services.accounts import AccountService
from authsvc.services.email_change import EmailChangeService
from authsvc.services.email_verification import EmailVerification, LinkMailer
from authsvc.services.password_reset import PasswordReset
from authsvc.services.session_ending import SessionEnder
from authsvc.throttle import LoginThrottle


@dataclass(frozen=True, slots=True)
class MailFlows:
    accounts: AccountService
    verification: EmailVerification
    password_reset: PasswordReset
    email_change: EmailChangeService


def build_mail_flows(
    core: Core,
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
