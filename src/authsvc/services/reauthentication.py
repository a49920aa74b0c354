"""The current password of a signed-in user, asked for before a change to the account.

Checked under the login throttle, per account and address: a stolen access token must not
become an unthrottled password oracle. Each flow names the events its refusals are reported
as (`Refusals`), and reports its own success through `report`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from authsvc.errors import Throttled, WrongPassword
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.services.accounts import AccountService
from authsvc.store.records import UserRecord
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims


@dataclass(frozen=True, slots=True)
class Refusals:
    """The events a flow reports a refused confirmation as."""

    throttled: EventKind  # the user's login budget was spent
    failed: EventKind  # the current password was wrong


# One per flow; removing the last second factor spends the login budget as a password change.
EMAIL_CHANGE = Refusals(EventKind.EMAIL_CHANGE_THROTTLED, EventKind.EMAIL_CHANGE_FAILED)
PASSWORD_CHANGE = Refusals(EventKind.PASSWORD_CHANGE_THROTTLED, EventKind.PASSWORD_CHANGE_FAILED)
PASSKEY_REMOVAL = Refusals(EventKind.PASSWORD_CHANGE_THROTTLED, EventKind.PASSKEY_REMOVE_FAILED)


class Reauthentication:
    def __init__(
        self, *, accounts: AccountService, throttle: LoginThrottle, observer: Observer
    ) -> None:
        self._accounts = accounts
        self._throttle = throttle
        self._observer = observer

    async def confirm(
        self,
        user: UserRecord,
        check: Callable[[], Awaitable[None]],
        *,
        claims: AccessClaims,
        client: ClientInfo,
        refusals: Refusals,
    ) -> None:
        """Run `check`, which raises WrongPassword for a wrong current password, inside one
        attempt of the user's login budget.

        Raises: Throttled, WrongPassword, and whatever else `check` raises.
        """
        try:
            reservation = await self._throttle.reserve(user.username, client.ip)
        except Throttled:
            await self.report(refusals.throttled, claims, client)
            raise
        try:
            await check()
        except WrongPassword:
            await self.report(refusals.failed, claims, client)
            raise
        await self._throttle.succeeded(reservation)

    async def confirm_password(
        self, claims: AccessClaims, current_password: str, *, client: ClientInfo, refusals: Refusals
    ) -> UserRecord:
        """The signed-in user, once `current_password` proved to be theirs (see `confirm`).

        Raises: SessionEnded, Throttled, WrongPassword, HashingBusy.
        """
        user = await self._accounts.current_user(claims.user_id)
        await self.confirm(
            user,
            lambda: self._accounts.check_password(user, current_password),
            claims=claims,
            client=client,
            refusals=refusals,
        )
        return user

    async def report(self, kind: EventKind, claims: AccessClaims, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=claims.user_id, session_id=claims.session_id, client=client)
        )
