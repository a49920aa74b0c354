"""Ending sessions: the store marks them revoked, the revocation list kills their access tokens.

Shared by the flows that end sessions (logout, sign-out, the session limit, password changes),
so every ended session reaches the revocation list and the security events the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.revocation import RevocationList
from authsvc.store.base import SessionStore


class SessionEnder:
    def __init__(
        self, *, store: SessionStore, revocations: RevocationList, observer: Observer
    ) -> None:
        self._store = store
        self._revocations = revocations
        self._observer = observer

    async def end_one(
        self,
        session_id: str,
        *,
        reason: str,
        now: datetime,
        user_id: str | None = None,
        client: ClientInfo | None = None,
    ) -> bool:
        """End one session (only if `user_id` owns it, when given); False if none was live."""
        revoked = await self._store.revoke_session(
            session_id, reason=reason, now=now, user_id=user_id
        )
        if revoked:
            await self._revocations.add([session_id], revoked_at=now)
            await self._observer.record(
                SecurityEvent(
                    EventKind.SESSION_REVOKED,
                    user_id=user_id,
                    session_id=session_id,
                    client=client,
                    reason=reason,
                )
            )
        return revoked

    async def end_all(
        self,
        user_id: str,
        *,
        reason: str,
        now: datetime,
        keep: str | None = None,
        client: ClientInfo | None = None,
    ) -> list[str]:
        """End every live session of a user but `keep`; the ids of those it ended."""
        revoked = await self._store.revoke_user_sessions(user_id, reason=reason, now=now, keep=keep)
        await self.ended(user_id, revoked, reason=reason, now=now, client=client)
        return revoked

    async def ended(
        self,
        user_id: str,
        session_ids: Sequence[str],
        *,
        reason: str,
        now: datetime,
        client: ClientInfo | None = None,
    ) -> None:
        """Sessions the store has just ended: their access tokens die now, on every replica."""
        if session_ids:
            await self._revocations.add(session_ids, revoked_at=now)
            await self._observer.record(
                SecurityEvent(
                    EventKind.SESSIONS_REVOKED,
                    user_id=user_id,
                    client=client,
                    reason=reason,
                    count=len(session_ids),
                )
            )
