"""Password change by a signed-in user: throttled like a login, and every other session ends."""

from __future__ import annotations

from authsvc.clock import Clock
from authsvc.events import ClientInfo, EventKind, Observer
from authsvc.services.accounts import AccountService
from authsvc.services.reauthentication import PASSWORD_CHANGE, Reauthentication
from authsvc.services.session_ending import SessionEnder
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims


class PasswordChangeService:
    def __init__(
        self,
        *,
        accounts: AccountService,
        throttle: LoginThrottle,
        ender: SessionEnder,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._accounts = accounts
        self._reauthentication = Reauthentication(
            accounts=accounts, throttle=throttle, observer=observer
        )
        self._ender = ender
        self._clock = clock

    async def change_password(
        self, claims: AccessClaims, current: str, new: str, client: ClientInfo
    ) -> None:
        """Change the password and end every other session of the user.

        Raises: Throttled, WrongPassword, PasswordRejected, SessionEnded.
        """
        user = await self._accounts.current_user(claims.user_id)
        await self._reauthentication.confirm(
            user,
            lambda: self._accounts.change_password(user, current, new),
            claims=claims,
            client=client,
            refusals=PASSWORD_CHANGE,
        )
        now = self._clock()
        await self._ender.end_all(
            user.id, reason="password_changed", now=now, keep=claims.session_id, client=client
        )
        await self._reauthentication.report(EventKind.PASSWORD_CHANGED, claims, client)
