"""The current password of a signed-in user, asked for before a change to the account.

Checked under the login throttle, per account and address: a stolen access token must not
become an unthrottled password oracle. Each flow names the events its refusals are reported
as, and reports its own success through `report`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from authsvc.errors import Throttled, WrongPassword
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.store.records import UserRecord
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims


class Reauthentication:
    def __init__(self, *, throttle: LoginThrottle, observer: Observer) -> None:
        self._throttle = throttle
        self._observer = observer

    async def confirm(
        self,
        user: UserRecord,
        check: Callable[[], Awaitable[None]],
        *,
        claims: AccessClaims,
        client: ClientInfo,
        throttled: EventKind,
        failed: EventKind,
    ) -> None:
        """Run `check`, which raises WrongPassword for a wrong current password, inside one
        attempt of the user's login budget.

        Raises: Throttled, WrongPassword, and whatever else `check` raises.
        """
        try:
            await self._throttle.reserve(user.username, client.ip)
        except Throttled:
            await self.report(throttled, claims, client)
            raise
        try:
            await check()
        except WrongPassword:
            await self.report(failed, claims, client)
            raise
        await self._throttle.succeeded(user.username, client.ip)

    async def report(self, kind: EventKind, claims: AccessClaims, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=claims.user_id, session_id=claims.session_id, client=client)
        )
