"""Password change by a signed-in user: throttled like a login, and every other session ends."""

from __future__ import annotations

from authsvc.clock import Clock
from authsvc.errors import Throttled, WrongPassword
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.services.accounts import AccountService
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
        self._throttle = throttle
        self._ender = ender
        self._clock = clock
        self._observer = observer

    async def change_password(
        self, claims: AccessClaims, current: str, new: str, client: ClientInfo
    ) -> None:
        """Change the password and end every other session of the user.

        Raises: Throttled, WrongPassword, PasswordRejected, SessionEnded.
        """
        user = await self._accounts.current_user(claims.user_id)
        # A stolen access token must not become an unthrottled password oracle.
        try:
            await self._throttle.reserve(user.username, client.ip)
        except Throttled:
            await self._report(EventKind.PASSWORD_CHANGE_THROTTLED, claims, client)
            raise
        try:
            await self._accounts.change_password(user, current, new)
        except WrongPassword:
            await self._report(EventKind.PASSWORD_CHANGE_FAILED, claims, client)
            raise
        await self._throttle.succeeded(user.username, client.ip)
        now = self._clock()
        await self._ender.end_all(
            user.id, reason="password_changed", now=now, keep=claims.session_id, client=client
        )
        await self._report(EventKind.PASSWORD_CHANGED, claims, client)

    async def _report(self, kind: EventKind, claims: AccessClaims, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=claims.user_id, session_id=claims.session_id, client=client)
        )
