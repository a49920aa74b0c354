"""Sessions: login, refresh-token rotation with reuse detection, listing and signing out.

A session is a token family: each refresh swaps its current refresh token for a new one.
Presenting a superseded token means a copy exists somewhere else, so the family is revoked
(OAuth 2.0 Security BCP, RFC 9700 §4.14.2), except for the token superseded a moment ago, which
two tabs racing each other legitimately present.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from authsvc.amr import PWD, methods
from authsvc.clock import Clock
from authsvc.errors import (
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    RefreshReused,
    SessionEnded,
    SessionNotFound,
)
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.observers.security_log import SecurityLog
from authsvc.revocation import RevocationList
from authsvc.services.accounts import AccountService
from authsvc.services.cursors import decode_cursor, encode_cursor, is_session_id
from authsvc.services.email_verification import EmailVerification
from authsvc.services.login_checks import LoginChecks
from authsvc.services.session_ending import SessionEnder
from authsvc.settings import Settings
from authsvc.store.base import SessionStore
from authsvc.store.records import NewSession, RotateResult, Rotation, SessionRecord, UserRecord
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
        verification: EmailVerification | None = None,
    ) -> None:
        self._store = store
        # Without one, events still reach the security log, as in the CLI.
        self._observer = observer if observer is not None else SecurityLog()
        self._tokens = tokens
        self._revocations = revocations
        self._ender = SessionEnder(store=store, revocations=revocations, observer=self._observer)
        self._checks = LoginChecks(
            accounts=accounts,
            throttle=throttle,
            observer=self._observer,
            requires_verified_email=settings.email_verification == "required",
            verification=verification,
        )
        self._clock = clock
        self._access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        self._idle_ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        self._max_lifetime = timedelta(seconds=settings.session_max_lifetime_seconds)
        self._grace_seconds = settings.refresh_grace_seconds
        self._max_sessions = settings.max_sessions_per_user

    @property
    def checks(self) -> LoginChecks:
        """The checks a login passes, for the other ways in (passkeys) to apply the same."""
        return self._checks

    async def login(self, username: str, password: str, client: ClientInfo) -> IssuedTokens:
        """Check credentials and open a session.

        Raises: Throttled, InvalidCredentials, AccountDisabled, EmailNotVerified.
        """
        user = await self.admit(username, password, client)
        return await self.establish(user, client, amr=methods(PWD))

    async def admit(self, username: str, password: str, client: ClientInfo) -> UserRecord:
        """The account these credentials prove, before any session is opened for it.

        Raises: Throttled, InvalidCredentials, AccountDisabled, EmailNotVerified.
        """
        return await self._checks.admit(username, password, client)

    async def establish(
        self,
        user: UserRecord,
        client: ClientInfo,
        *,
        amr: tuple[str, ...],
        also_reported_as: EventKind | None = None,
    ) -> IssuedTokens:
        """Open a session for `user`, who has just proved who they are by `amr`.

        `user` is the record read when the proof began: the session opens only while its
        password hash is still the account's, so a password change meanwhile wins. The
        session is reported as LOGIN_SUCCEEDED, then as `also_reported_as` when given (the
        way in, such as PASSKEY_LOGIN).

        Raises: InvalidCredentials when the password changed meanwhile.
        """
        try:
            issued = await self._open(user, client, amr)
        except InvalidCredentials:
            # The password changed while this login checked the old one: the change ends
            # every session, so it must not leave one opened with the old password behind.
            await self._observer.record(
                SecurityEvent(EventKind.LOGIN_PASSWORD_CHANGED, user_id=user.id, client=client)
            )
            raise
        for kind in (EventKind.LOGIN_SUCCEEDED, also_reported_as):
            if kind is not None:
                await self._observer.record(
                    SecurityEvent(
                        kind, user_id=user.id, session_id=issued.session_id, client=client
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

        access = self._issue_access(outcome.username, session, now, roles=outcome.roles)
        if outcome.result is RotateResult.GRACE:
            await self._report_refresh(EventKind.REFRESH_GRACE_REPLAYED, session, client)
            return IssuedTokens(access=access, refresh=None, session_id=session.id)
        refresh = self._issue_refresh(session, now, replacement_jti)
        await self._report_refresh(EventKind.REFRESH_ROTATED, session, client)
        return IssuedTokens(access=access, refresh=refresh, session_id=session.id)

    async def logout(self, refresh_token: str | None, client: ClientInfo | None = None) -> None:
        """End the session a refresh token belongs to; a no-op for anything unusable."""
        if not refresh_token:
            return
        now = self._clock()
        try:
            claims = self._tokens.verify_refresh(refresh_token, now=now)
        except InvalidToken:
            return
        # The token is signed, so the session is this user's; the user id puts it on record.
        await self._ender.end_one(
            claims.session_id, reason="logout", now=now, user_id=claims.user_id, client=client
        )

    async def logout_all(self, claims: AccessClaims, client: ClientInfo | None = None) -> None:
        now = self._clock()
        await self._ender.end_all(claims.user_id, reason="logout_all", now=now, client=client)

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

    async def end_session(
        self, claims: AccessClaims, session_id: str, client: ClientInfo | None = None
    ) -> None:
        """Sign one of the caller's own sessions out.

        Raises: SessionNotFound, also for other users' sessions, so ids cannot be probed.
        """
        if not is_session_id(session_id):
            # Not an id we ever issued; the database might even refuse it (NUL bytes).
            raise SessionNotFound
        now = self._clock()
        if not await self._ender.end_one(
            session_id, reason="signed_out", now=now, user_id=claims.user_id, client=client
        ):
            raise SessionNotFound

    async def _open(
        self, user: UserRecord, client: ClientInfo, amr: tuple[str, ...]
    ) -> IssuedTokens:
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
                amr=amr,
            ),
            verified_hash=user.password_hash,
            max_live=self._max_sessions,
        )
        if opened is None:
            raise InvalidCredentials(user.id)
        session = opened.session
        # Sessions the limit ended: their access tokens die now too, not at expiry.
        await self._ender.ended(
            user.id, opened.ended, reason="session_limit", now=now, client=client
        )
        return IssuedTokens(
            access=self._issue_access(user.username, session, now, roles=user.roles),
            refresh=self._issue_refresh(session, now, jti),
            session_id=session.id,
        )

    def _issue_refresh(self, session: SessionRecord, now: datetime, jti: str) -> IssuedToken:
        # A refresh token lives as long as the session stays idle, never beyond it.
        return self._tokens.issue_refresh(
            user_id=session.user_id,
            session_id=session.id,
            now=now,
            expires_at=session.idle_expires_at,
            jti=jti,
        )

    def _issue_access(
        self, username: str, session: SessionRecord, now: datetime, *, roles: tuple[str, ...]
    ) -> IssuedToken:
        return self._tokens.issue_access(
            user_id=session.user_id,
            username=username,
            session_id=session.id,
            now=now,
            roles=roles,
            amr=session.amr,
            # An access token never outlives the session it belongs to.
            expires_at=min(now + self._access_ttl, session.absolute_expires_at),
        )

    async def _report_refresh(
        self, kind: EventKind, session: SessionRecord, client: ClientInfo
    ) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=session.user_id, session_id=session.id, client=client)
        )
