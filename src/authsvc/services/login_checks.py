"""The checks a login passes before it opens a session: throttle, password, account status.

Kept apart from `SessionService` so that the order of the checks, which decides what a
refusal tells whom, reads in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from authsvc.errors import AccountDisabled, EmailNotVerified, InvalidCredentials, Throttled
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.services.accounts import AccountService, account_key
from authsvc.services.email_verification import EmailVerification
from authsvc.store.records import UserRecord
from authsvc.throttle import LoginThrottle


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginChecks:
    accounts: AccountService
    throttle: LoginThrottle
    observer: Observer
    # Checked after the password, so the refusal tells nothing to someone without it.
    requires_verified_email: bool
    # Mails a new link when a login is refused for an unverified address.
    verification: EmailVerification | None

    async def admit(self, username: str, password: str, client: ClientInfo) -> UserRecord:
        """The account these credentials open a session for.

        Raises: Throttled, InvalidCredentials, AccountDisabled, EmailNotVerified.
        """
        account = account_key(username)
        try:
            reservation = await self.throttle.reserve(account, client.ip)
        except Throttled:
            await self.observer.record(
                SecurityEvent(
                    EventKind.LOGIN_THROTTLED,
                    # Which account is targeted, without writing a name an attacker typed.
                    account_ref=self.throttle.account_reference(account),
                    client=client,
                )
            )
            raise
        try:
            user = await self.accounts.authenticate(username, password)
        except InvalidCredentials as exc:
            await self.observer.record(
                SecurityEvent(
                    EventKind.LOGIN_FAILED,
                    user_id=exc.user_id,
                    known_user=exc.user_id is not None,
                    client=client,
                )
            )
            raise
        await self.throttle.succeeded(reservation)
        await self.admit_account(user, client)
        return user

    async def admit_account(self, user: UserRecord, client: ClientInfo) -> None:
        """The checks of the account itself, once its holder has proved who they are.

        Raises: AccountDisabled, EmailNotVerified.
        """
        if user.disabled_at is not None:
            # Said only to whoever knows the password: to a guesser it stays a 401.
            await self.observer.record(
                SecurityEvent(EventKind.LOGIN_DISABLED, user_id=user.id, client=client)
            )
            raise AccountDisabled
        if self.requires_verified_email and user.email and user.email_verified_at is None:
            await self.observer.record(
                SecurityEvent(EventKind.LOGIN_EMAIL_UNVERIFIED, user_id=user.id, client=client)
            )
            if self.verification is not None:
                await self.verification.login_refused(user)
            raise EmailNotVerified
