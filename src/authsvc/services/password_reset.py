"""Password reset: a link mailed to an account's address, and the new password it allows.

A request answers the same, equally fast, whether or not an account matches: only the
per-client throttle is decided before the answer (it is about the caller, not the address);
the per-address throttle, the lookup and the mail happen afterwards, as background work, so
neither the answer nor its timing depends on them.

Which accounts match: those, not disabled or deleted, whose address equals the one given,
ignoring the case of ASCII letters (local part included, as practically every provider does).
Addresses are not unique, so each matching account gets its own mail and token. An unverified
address gets the mail too: using the link proves the address, so the reset marks it verified.

The token (stored only hashed, see email_verification.py) works once, for
PASSWORD_RESET_TTL_SECONDS, while it is the account's latest, and only while the password is
the one it was issued under: any change since (by the user, an administrator or another reset)
ends it. The reset ends every session, so access tokens die at once, and mails a notice.
"""

from __future__ import annotations

from authsvc.background import BackgroundWork
from authsvc.errors import InvalidEmailToken, Throttled
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.services.email_verification import (
    NOTICE_LIFETIME,
    TOKEN_SHAPE,
    LinkMailer,
    MailedLink,
    email_token_hash,
)
from authsvc.services.session_ending import SessionEnder
from authsvc.store.records import PASSWORD_RESET, UserRecord
from authsvc.throttle import LoginThrottle

PASSWORD_CHANGED_NOTICE = "password_changed_notice"  # noqa: S105 - a mail kind


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def address_key(email: str) -> str:
    """What the per-address throttle counts: the address, ASCII letters folded."""
    return email.translate(_ASCII_LOWER)


class PasswordReset:
    def __init__(
        self,
        *,
        links: LinkMailer,
        passwords: PasswordService,
        policy: PasswordPolicy,
        throttle: LoginThrottle,
        ender: SessionEnder,
        observer: Observer,
        background: BackgroundWork,
    ) -> None:
        self._links = links
        self._store = links.store
        self._passwords = passwords
        self._policy = policy
        settings = links.settings
        self._link = MailedLink.of(
            PASSWORD_RESET,
            PASSWORD_RESET,
            settings.password_reset_url,
            settings.password_reset_ttl_seconds,
        )
        self._clock = links.clock
        self._throttle = throttle
        self._ender = ender
        self._observer = observer
        self._background = background

    async def forgot(self, email: str, client: ClientInfo) -> None:
        """Mail a reset link to every account with this address, if any, after answering.

        Raises: MailNotConfigured, Throttled (per client address only).
        """
        self._links.available()
        try:
            await self._throttle.reserve_forgot(client.ip)
        except Throttled:
            await self._throttled("per_client", client)
            raise
        self._background.start(self._mail_links(email, client), name="password-reset")

    async def reset(self, token: str, new_password: str, client: ClientInfo) -> None:
        """Set a new password with a mailed token; every session of the account ends.

        Raises: MailNotConfigured, InvalidEmailToken, PasswordRejected, HashingBusy.
        """
        mailer = self._links.available()
        user = await self._holder(token)
        if user is None:
            await self._report(EventKind.PASSWORD_RESET_FAILED, None, client)
            raise InvalidEmailToken
        self._policy.check(new_password, username=user.username)
        # A reset proves control of the mailbox, not of a second factor: it leaves every
        # factor in place, so the next login still asks for one (services/two_step_login.py).
        new_hash = await self._passwords.hash(new_password)
        now = self._clock()
        # Used and checked again in one transaction: of concurrent resets one wins, and a
        # password changed since the token was issued (or a disabled account) wins over it.
        if await self._store.reset_password(email_token_hash(token), new_hash, now=now) is None:
            await self._report(EventKind.PASSWORD_RESET_FAILED, user.id, client)
            raise InvalidEmailToken
        await self._ender.end_all(user.id, reason="password_reset", now=now, client=client)
        if user.email is not None:
            await mailer.queue(
                PASSWORD_CHANGED_NOTICE,
                to=user.email,
                context={"username": user.username},
                expires_at=now + NOTICE_LIFETIME,
            )
        await self._report(EventKind.PASSWORD_RESET, user.id, client)

    async def _holder(self, token: str) -> UserRecord | None:
        """The account a live reset token belongs to; None for any other string."""
        if not TOKEN_SHAPE.fullmatch(token):
            return None
        found = await self._store.find_email_token(
            email_token_hash(token), purpose=PASSWORD_RESET, now=self._clock()
        )
        return await self._store.get_user(found.user_id) if found is not None else None

    async def _mail_links(self, email: str, client: ClientInfo) -> None:
        try:
            await self._throttle.reserve_forgot_target(address_key(email))
        except Throttled:
            await self._throttled("per_address", client)
            return
        for user in await self._store.users_by_email(email):
            if user.disabled_at is not None or user.email is None:
                continue
            await self._links.send(self._link, user=user, email=user.email)
            await self._report(EventKind.PASSWORD_RESET_REQUESTED, user.id, client)

    async def _throttled(self, reason: str, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(EventKind.PASSWORD_RESET_THROTTLED, client=client, reason=reason)
        )

    async def _report(self, kind: EventKind, user_id: str | None, client: ClientInfo) -> None:
        await self._observer.record(SecurityEvent(kind, user_id=user_id, client=client))
