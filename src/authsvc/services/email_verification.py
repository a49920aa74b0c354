"""E-mail verification: the mail sent after registration, the link's token, and resends.

A token is 32 random bytes (URL-safe), mailed inside a link to the SPA with the token in the
fragment, so it never reaches a server log or a Referer; only its SHA-256 is stored. It works
once, until EMAIL_TOKEN_TTL_SECONDS, only while the address is still the account's, and only
while it is the latest one mailed: a resend ends the earlier link. The same route takes the
token of a change of address (services/email_change.py), which moves the account to the new
address and tells the old one. `mail_link` issues and mails every kind of such token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from authsvc.clock import Clock
from authsvc.errors import (
    EmailAlreadyVerified,
    EmailVerificationOff,
    InvalidEmailToken,
    MailNotConfigured,
    NoEmailAddress,
    SessionEnded,
    Throttled,
)
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.mail.outbox import Mailer
from authsvc.settings import Settings
from authsvc.store.base import EmailTokenStore, UserStore
from authsvc.store.records import VERIFY_EMAIL, EmailChange, NewEmailToken, UserRecord
from authsvc.throttle import LoginThrottle

# What `secrets.token_urlsafe(32)` makes (43 characters), with room for other lengths; any
# other shape is refused before the store is asked.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")
EMAIL_CHANGED_NOTICE = "email_changed_notice"
# A notice holds no link; it is still worth delivering after a long mail outage.
NOTICE_LIFETIME = timedelta(days=7)


class EmailTokenStoreOfUsers(UserStore, EmailTokenStore, Protocol):
    """The parts of the store this service uses."""


def email_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def describe_duration(duration: timedelta) -> str:
    """'24 hours', '90 minutes': how long a link works, in the mail's words."""
    minutes = round(duration.total_seconds() / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


@dataclass(frozen=True, slots=True)
class MailedLink:
    """A kind of one-time link: its token's purpose, the kind of mail carrying it, where it
    points, and how long it works."""

    purpose: str
    kind: str
    url_template: str
    ttl: timedelta

    @classmethod
    def of(cls, purpose: str, kind: str, url_template: str, ttl_seconds: int) -> MailedLink:
        return cls(purpose, kind, url_template, timedelta(seconds=ttl_seconds))


@dataclass(frozen=True, slots=True)
class LinkMailer:
    """Issues one-time tokens and mails the links carrying them; what every e-mail flow uses.

    `mailer` is None in production without SMTP_URL: the e-mail flows are off.
    """

    store: EmailTokenStoreOfUsers
    mailer: Mailer | None
    settings: Settings
    clock: Clock

    def available(self) -> Mailer:
        """Raises: MailNotConfigured."""
        if self.mailer is None:
            raise MailNotConfigured
        return self.mailer

    async def send(self, link: MailedLink, *, user: UserRecord, email: str) -> None:
        """Issue a token of `link.purpose`, ending the user's earlier ones of that purpose,
        and queue the mail carrying it to `email`.

        Raises: MailNotConfigured, StoreUnavailable.
        """
        mailer = self.available()
        token = secrets.token_urlsafe(32)
        now = self.clock()
        expires_at = now + link.ttl
        await self.store.issue_email_token(
            NewEmailToken(
                user_id=user.id,
                purpose=link.purpose,
                email=email,
                token_hash=email_token_hash(token),
                created_at=now,
                expires_at=expires_at,
            )
        )
        await mailer.queue(
            link.kind,
            to=email,
            context={
                "username": user.username,
                "email": email,
                "link": self.settings.link(link.url_template, token),
                "valid_for": describe_duration(link.ttl),
            },
            expires_at=expires_at,
        )


class EmailVerification:
    def __init__(self, *, links: LinkMailer, throttle: LoginThrottle, observer: Observer) -> None:
        self._links = links
        self._store = links.store
        self._mailer = links.mailer  # None: production without SMTP_URL
        settings = links.settings
        self._enabled = settings.email_verification != "off"
        self._link = MailedLink.of(
            VERIFY_EMAIL, VERIFY_EMAIL, settings.email_verify_url, settings.email_token_ttl_seconds
        )
        self._clock = links.clock
        self._throttle = throttle
        self._observer = observer

    async def registered(self, user: UserRecord) -> None:
        """Mail a new account's address its verification link, when there is one to mail.

        Raises: StoreUnavailable.
        """
        if self._enabled and self._mailer is not None and user.email is not None:
            await self._send(user, user.email)

    async def login_refused(self, user: UserRecord) -> None:
        """Mail a new link to an account whose login was refused for its unverified address,
        within its resend budget: one whose link expired (or one created by an operator, who
        got none) would otherwise be locked out for good, unable to log in to ask for one.

        Raises: StoreUnavailable.
        """
        if not self._enabled or self._mailer is None or user.email is None:
            return
        try:
            await self._throttle.reserve_email_resend(user.id)
        except Throttled:
            return  # the mails sent within the budget are on their way
        await self._send(user, user.email)

    async def verify(self, token: str, client: ClientInfo) -> None:
        """Mark the address the token was mailed to as verified; for the token of a change of
        address, make that address the account's and tell the old one.

        Raises: EmailVerificationOff, MailNotConfigured, InvalidEmailToken.
        """
        well_formed = TOKEN_SHAPE.fullmatch(token) is not None
        digest, now = email_token_hash(token), self._clock()
        # A change of address asked for a link of its own, whatever EMAIL_VERIFICATION says.
        changed = await self._store.change_email(digest, now=now) if well_formed else None
        if changed is not None:
            await self._changed(changed, client)
            return
        self._available()
        user_id = await self._store.verify_email(digest, now=now) if well_formed else None
        if user_id is None:
            await self._observer.record(SecurityEvent(EventKind.EMAIL_VERIFY_FAILED, client=client))
            raise InvalidEmailToken
        await self._observer.record(
            SecurityEvent(EventKind.EMAIL_VERIFIED, user_id=user_id, client=client)
        )

    async def _changed(self, change: EmailChange, client: ClientInfo) -> None:
        if self._mailer is not None and change.previous is not None:
            await self._mailer.queue(
                EMAIL_CHANGED_NOTICE,
                to=change.previous,
                context={"username": change.username, "email": change.email},
                expires_at=self._clock() + NOTICE_LIFETIME,
            )
        await self._observer.record(
            SecurityEvent(EventKind.EMAIL_CHANGED, user_id=change.user_id, client=client)
        )

    async def resend(self, user_id: str) -> None:
        """Mail a new link, ending the earlier ones; throttled per account.

        Raises: EmailVerificationOff, MailNotConfigured, Throttled, SessionEnded,
        NoEmailAddress, EmailAlreadyVerified.
        """
        self._available()
        try:
            await self._throttle.reserve_email_resend(user_id)
        except Throttled:
            await self._observer.record(
                SecurityEvent(EventKind.EMAIL_RESEND_THROTTLED, user_id=user_id)
            )
            raise
        user = await self._store.get_user(user_id)
        if user is None:
            raise SessionEnded
        if user.email is None:
            raise NoEmailAddress
        if user.email_verified_at is not None:
            raise EmailAlreadyVerified
        await self._send(user, user.email)

    def _available(self) -> None:
        if not self._enabled:
            raise EmailVerificationOff
        self._links.available()

    async def _send(self, user: UserRecord, email: str) -> None:
        await self._links.send(self._link, user=user, email=email)
        await self._observer.record(
            SecurityEvent(EventKind.EMAIL_VERIFICATION_SENT, user_id=user.id)
        )
