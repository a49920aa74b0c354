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
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    RefreshReused,
    SessionEnded,
    SessionNotFound,
    Throttled,
    WrongPassword,
)
from authsvc.events import security_event
from authsvc.revocation import RevocationList
from authsvc.services.accounts import AccountService, account_key
from authsvc.services.cursors import decode_cursor, encode_cursor, is_session_id
from authsvc.services.observer import NULL_OBSERVER, SessionObserver
from authsvc.settings import Settings
from authsvc.store.base import (
    NewSession,
    RotateResult,
    Rotation,
    SessionRecord,
    SessionStore,
    UserProfile,
    UserRecord,
)
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims, IssuedToken, TokenService, new_token_id, token_hash


@dataclass(frozen=True, slots=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


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
        observer: SessionObserver = NULL_OBSERVER,
    ) -> None:
        self._store = store
        self._observer = observer
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

        Raises: Throttled, InvalidCredentials.
        """
        account = account_key(username)
        try:
            await self._throttle.reserve(account, client.ip)
        except Throttled:
            self._observer.throttled("login")
            security_event(
                "login_throttled",
                warning=True,
                # Which account is targeted, without writing a name an attacker typed.
                account_ref=self._throttle.account_reference(account),
                ip=client.ip,
                user_agent=client.user_agent,
            )
            raise
        try:
            user = await self._accounts.authenticate(username, password)
        except InvalidCredentials as exc:
            self._observer.login_failed()
            security_event(
                "login_failed",
                warning=True,
                user_id=exc.user_id,
                known_user=exc.user_id is not None,
                ip=client.ip,
                user_agent=client.user_agent,
            )
            raise
        await self._throttle.succeeded(account, client.ip)
        try:
            issued = await self._open(user, client)
        except InvalidCredentials:
            # The password changed while this login checked the old one: the change ends
            # every session, so it must not leave one opened with the old password behind.
            self._observer.login_failed()
            security_event(
                "login_password_changed",
                warning=True,
                user_id=user.id,
                ip=client.ip,
                user_agent=client.user_agent,
            )
            raise
        self._observer.login_succeeded()
        security_event(
            "login_succeeded",
            user_id=user.id,
            session_id=issued.session_id,
            ip=client.ip,
            user_agent=client.user_agent,
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
            self._observer.refresh_reuse_detected()
            self._observer.sessions_revoked("reuse_detected", 1)
            security_event(
                "refresh_reuse_detected",
                warning=True,
                user_id=session.user_id,
                session_id=session.id,
                ip=client.ip,
                user_agent=client.user_agent,
            )
            raise RefreshReused
        if session is None or outcome.result in (RotateResult.ENDED, RotateResult.UNKNOWN):
            raise SessionEnded
        if session.user_id != claims.user_id:
            raise InvalidToken("token does not belong to the session's user")
        if outcome.username is None:  # the account is gone
            raise SessionEnded

        access = self._issue_access(session.user_id, outcome.username, session, now)
        if outcome.result is RotateResult.GRACE:
            self._observer.refresh_grace_replayed()
            # Two tabs racing explain most of these; a stolen token replayed at once looks the
            # same, so the replay is on record either way.
            security_event(
                "refresh_grace_replayed",
                user_id=session.user_id,
                session_id=session.id,
                ip=client.ip,
                user_agent=client.user_agent,
            )
            return IssuedTokens(access=access, refresh=None, session_id=session.id)
        refresh = self._tokens.issue_refresh(
            user_id=session.user_id,
            session_id=session.id,
            now=now,
            expires_at=session.idle_expires_at,
            jti=replacement_jti,
        )
        self._observer.refresh_rotated()
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

    async def profile(self, claims: AccessClaims) -> UserProfile:
        """The caller's profile, usually without a database round trip.

        Raises: SessionEnded when the account no longer exists.
        """
        profile = await self._accounts.get_profile(claims.user_id)
        if profile is None:
            raise SessionEnded
        return profile

    async def current_user(self, claims: AccessClaims) -> UserRecord:
        """Raises: SessionEnded when the account no longer exists."""
        user = await self._accounts.get_user(claims.user_id)
        if user is None:
            raise SessionEnded
        return user

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
        user = await self.current_user(claims)
        # A stolen access token must not become an unthrottled password oracle.
        try:
            await self._throttle.reserve(user.username, client.ip)
        except Throttled:
            self._observer.throttled("password_change")
            security_event(
                "password_change_throttled",
                warning=True,
                user_id=user.id,
                session_id=claims.session_id,
                ip=client.ip,
            )
            raise
        try:
            await self._accounts.change_password(user, current, new)
        except WrongPassword:
            security_event(
                "password_change_failed",
                warning=True,
                user_id=user.id,
                session_id=claims.session_id,
            )
            raise
        await self._throttle.succeeded(user.username, client.ip)
        now = self._clock()
        await self._revoke_all(user.id, reason="password_changed", now=now, keep=claims.session_id)
        security_event("password_changed", user_id=user.id, session_id=claims.session_id)

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
            self._observer.sessions_revoked("session_limit", len(opened.ended))
            security_event(
                "sessions_revoked",
                user_id=user.id,
                reason="session_limit",
                count=len(opened.ended),
            )
        refresh = self._tokens.issue_refresh(
            user_id=user.id,
            session_id=session.id,
            now=now,
            expires_at=session.idle_expires_at,
            jti=jti,
        )
        return IssuedTokens(
            access=self._issue_access(user.id, user.username, session, now),
            refresh=refresh,
            session_id=session.id,
        )

    def _issue_access(
        self, user_id: str, username: str, session: SessionRecord, now: datetime
    ) -> IssuedToken:
        return self._tokens.issue_access(
            user_id=user_id,
            username=username,
            session_id=session.id,
            now=now,
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
            self._observer.sessions_revoked(reason, 1)
            security_event("session_revoked", session_id=session_id, reason=reason)
        return revoked

    async def _revoke_all(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> None:
        revoked = await self._store.revoke_user_sessions(user_id, reason=reason, now=now, keep=keep)
        if revoked:
            await self._revocations.add(revoked, revoked_at=now)
            self._observer.sessions_revoked(reason, len(revoked))
        security_event("sessions_revoked", user_id=user_id, reason=reason, count=len(revoked))
