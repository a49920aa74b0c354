"""Sessions: login, refresh-token rotation with reuse detection, and every way a session ends.

A session is a token family: each refresh swaps its current refresh token for a new one.
Presenting a superseded token means a copy exists somewhere else, so the family is revoked
(OAuth 2.0 Security BCP, RFC 9700 §4.14.2), except for the token superseded a moment ago, which
two tabs racing each other legitimately present.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from authsvc.clock import Clock
from authsvc.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    RefreshReused,
    SessionEnded,
    SessionNotFound,
    Throttled,
    WrongPassword,
)
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.observers.security_log import SecurityLog
from authsvc.revocation import RevocationList
from authsvc.services.accounts import AccountService, account_key
from authsvc.services.cursors import decode_cursor, encode_cursor, is_session_id
from authsvc.settings import Settings
from authsvc.store.base import (
    NewSession,
    RotateResult,
    Rotation,
    SessionRecord,
    SessionStore,
    UserRecord,
)
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims, IssuedToken, TokenService, new_token_id, token_hash

__all__ = ["ClientInfo", "IssuedTokens", "SessionPage", "SessionService", "token_hash"]


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access: IssuedToken
    refresh: IssuedToken | None  # None on a grace-window replay: the newer cookie stays
    session_id: str


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: list[SessionRecord]
    next_cursor: str | None  # None on the last page


class SessionService:
    def __init__(
        self,
        *,
        store: SessionStore,
        tokens: TokenService,
        accounts: AccountService,
        revocations: RevocationList,
        throttle: LoginThrottle,
        settings: Settings,
        clock: Clock,
        observer: Observer | None = None,
    ) -> None:
        self._store = store
        # Without one, events still reach the security log, as in the CLI.
        self._observer = observer if observer is not None else SecurityLog()
        self._tokens = tokens
        self._accounts = accounts
        self._revocations = revocations
        self._throttle = throttle
        self._clock = clock
        self._access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        self._idle_ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        self._max_lifetime = timedelta(seconds=settings.session_max_lifetime_seconds)
        self._grace_seconds = settings.refresh_grace_seconds
        self._max_sessions = settings.max_sessions_per_user

    async def login(self, username: str, password: str, client: ClientInfo) -> IssuedTokens:
        """Check credentials and open a session.

        Raises: Throttled, InvalidCredentials, AccountDisabled.
        """
        account = account_key(username)
        try:
            await self._throttle.reserve(account, client.ip)
        except Throttled:
            await self._observer.record(
                SecurityEvent(
                    EventKind.LOGIN_THROTTLED,
                    # Which account is targeted, without writing a name an attacker typed.
                    account_ref=self._throttle.account_reference(account),
                    client=client,
                )
            )
            raise
        try:
            user = await self._accounts.authenticate(username, password)
        except InvalidCredentials as exc:
            await self._observer.record(
                SecurityEvent(
                    EventKind.LOGIN_FAILED,
                    user_id=exc.user_id,
                    known_user=exc.user_id is not None,
                    client=client,
                )
            )
            raise
        await self._throttle.succeeded(account, client.ip)
        if user.disabled_at is not None:
            # Said only to whoever knows the password: to a guesser it stays a 401.
            await self._observer.record(
                SecurityEvent(EventKind.LOGIN_DISABLED, user_id=user.id, client=client)
            )
            raise AccountDisabled
        try:
            issued = await self._open(user, client)
        except InvalidCredentials:
            # The password changed while this login checked the old one: the change ends
            # every session, so it must not leave one opened with the old password behind.
            await self._observer.record(
                SecurityEvent(EventKind.LOGIN_PASSWORD_CHANGED, user_id=user.id, client=client)
            )
            raise
        await self._observer.record(
            SecurityEvent(
                EventKind.LOGIN_SUCCEEDED,
                user_id=user.id,
                session_id=issued.session_id,
                client=client,
            )
        )
        return issued

    async def rotate(self, refresh_token: str | None, client: ClientInfo) -> IssuedTokens:
        """Trade a refresh token for a new access token and, normally, a new refresh token.

        Raises: NotAuthenticated, InvalidToken, SessionEnded, RefreshReused.
        """
        if not refresh_token:
            raise NotAuthenticated
        now = self._clock()
        claims = self._tokens.verify_refresh(refresh_token, now=now)
        replacement_jti = new_token_id()
        outcome = await self._store.rotate(
            claims.session_id,
            Rotation(
                presented_hash=token_hash(claims.jti),
                replacement_hash=token_hash(replacement_jti),
                now=now,
                idle_deadline=now + self._idle_ttl,
                grace_seconds=self._grace_seconds,
                user_agent=client.user_agent,
                ip=client.ip,
            ),
        )
        session = outcome.session
        if outcome.result is RotateResult.REUSED and session is not None:
            await self._revocations.add([session.id], revoked_at=now)
            # The event stands for the revocation too: the session it names has ended.
            await self._report_refresh(EventKind.REFRESH_REUSE_DETECTED, session, client)
            raise RefreshReused
        if session is None or outcome.result in (RotateResult.ENDED, RotateResult.UNKNOWN):
            raise SessionEnded
        if session.user_id != claims.user_id:
            raise InvalidToken("token does not belong to the session's user")
        if outcome.username is None:  # the account is gone
            raise SessionEnded

        access = self._issue_access(
            session.user_id, outcome.username, session, now, roles=outcome.roles
        )
        if outcome.result is RotateResult.GRACE:
            await self._report_refresh(EventKind.REFRESH_GRACE_REPLAYED, session, client)
            return IssuedTokens(access=access, refresh=None, session_id=session.id)
        refresh = self._tokens.issue_refresh(
            user_id=session.user_id,
            session_id=session.id,
            now=now,
            expires_at=session.idle_expires_at,
            jti=replacement_jti,
        )
        await self._report_refresh(EventKind.REFRESH_ROTATED, session, client)
        return IssuedTokens(access=access, refresh=refresh, session_id=session.id)

    async def logout(self, refresh_token: str | None) -> None:
        """End the session a refresh token belongs to; a no-op for anything unusable."""
        if not refresh_token:
            return
        now = self._clock()
        try:
            claims = self._tokens.verify_refresh(refresh_token, now=now)
        except InvalidToken:
            return
        await self._revoke_one(claims.session_id, reason="logout", now=now)

    async def logout_all(self, claims: AccessClaims) -> None:
        now = self._clock()
        await self._revoke_all(claims.user_id, reason="logout_all", now=now)

    async def list_sessions(
        self, claims: AccessClaims, *, limit: int, cursor: str | None = None
    ) -> SessionPage:
        """One page of the caller's live sessions, most recently used first.

        Raises: InvalidCursor.
        """
        after = decode_cursor(cursor) if cursor is not None else None
        # One row more than asked tells whether another page follows.
        records = await self._store.list_active_sessions(
            claims.user_id, now=self._clock(), limit=limit + 1, after=after
        )
        page = records[:limit]
        has_more = len(records) > limit
        return SessionPage(page, encode_cursor(page[-1]) if has_more else None)

    async def end_session(self, claims: AccessClaims, session_id: str) -> None:
        """Sign one of the caller's own sessions out.

        Raises: SessionNotFound, also for other users' sessions, so ids cannot be probed.
        """
        if not is_session_id(session_id):
            # Not an id we ever issued; the database might even refuse it (NUL bytes).
            raise SessionNotFound
        now = self._clock()
        if not await self._revoke_one(
            session_id, reason="signed_out", now=now, user_id=claims.user_id
        ):
            raise SessionNotFound

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
            await self._report_password_change(EventKind.PASSWORD_CHANGE_THROTTLED, claims, client)
            raise
        try:
            await self._accounts.change_password(user, current, new)
        except WrongPassword:
            await self._report_password_change(EventKind.PASSWORD_CHANGE_FAILED, claims, client)
            raise
        await self._throttle.succeeded(user.username, client.ip)
        now = self._clock()
        await self._revoke_all(user.id, reason="password_changed", now=now, keep=claims.session_id)
        await self._report_password_change(EventKind.PASSWORD_CHANGED, claims, client)

    async def _open(self, user: UserRecord, client: ClientInfo) -> IssuedTokens:
        """Open a session for a user whose password `user.password_hash` was just verified.

        Raises: InvalidCredentials when that is no longer the user's password.
        """
        now = self._clock()
        absolute = now + self._max_lifetime
        jti = new_token_id()
        opened = await self._store.open_session(
            NewSession(
                id=str(uuid.uuid4()),
                user_id=user.id,
                token_hash=token_hash(jti),
                user_agent=client.user_agent,
                ip=client.ip,
                created_at=now,
                idle_expires_at=min(now + self._idle_ttl, absolute),
                absolute_expires_at=absolute,
            ),
            verified_hash=user.password_hash,
            max_live=self._max_sessions,
        )
        if opened is None:
            raise InvalidCredentials(user.id)
        session = opened.session
        if opened.ended:
            # Their access tokens die now too, on every replica, not at expiry.
            await self._revocations.add(opened.ended, revoked_at=now)
            await self._report_revoked(user.id, "session_limit", len(opened.ended))
        refresh = self._tokens.issue_refresh(
            user_id=user.id,
            session_id=session.id,
            now=now,
            expires_at=session.idle_expires_at,
            jti=jti,
        )
        return IssuedTokens(
            access=self._issue_access(user.id, user.username, session, now, roles=user.roles),
            refresh=refresh,
            session_id=session.id,
        )

    def _issue_access(
        self,
        user_id: str,
        username: str,
        session: SessionRecord,
        now: datetime,
        *,
        roles: tuple[str, ...],
    ) -> IssuedToken:
        return self._tokens.issue_access(
            user_id=user_id,
            username=username,
            session_id=session.id,
            now=now,
            roles=roles,
            # An access token never outlives the session it belongs to.
            expires_at=min(now + self._access_ttl, session.absolute_expires_at),
        )

    async def _revoke_one(
        self, session_id: str, *, reason: str, now: datetime, user_id: str | None = None
    ) -> bool:
        revoked = await self._store.revoke_session(
            session_id, reason=reason, now=now, user_id=user_id
        )
        if revoked:
            await self._revocations.add([session_id], revoked_at=now)
            await self._observer.record(
                SecurityEvent(EventKind.SESSION_REVOKED, session_id=session_id, reason=reason)
            )
        return revoked

    async def _revoke_all(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> None:
        revoked = await self._store.revoke_user_sessions(user_id, reason=reason, now=now, keep=keep)
        if revoked:
            await self._revocations.add(revoked, revoked_at=now)
            await self._report_revoked(user_id, reason, len(revoked))

    async def _report_revoked(self, user_id: str, reason: str, count: int) -> None:
        await self._observer.record(
            SecurityEvent(EventKind.SESSIONS_REVOKED, user_id=user_id, reason=reason, count=count)
        )

    async def _report_refresh(
        self, kind: EventKind, session: SessionRecord, client: ClientInfo
    ) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=session.user_id, session_id=session.id, client=client)
        )

    async def _report_password_change(
        self, kind: EventKind, claims: AccessClaims, client: ClientInfo
    ) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=claims.user_id, session_id=claims.session_id, client=client)
        )
