"""Login with a second factor: the password opens a session only for an account without one;
otherwise it earns an `mfa_token`, and an answer of a method the account holds (a code, a
passkey's assertion) completes it.

The mfa_token is 32 random bytes (URL-safe), stored only as SHA-256. It works once (the store
uses it and consumes the answer's proof in one transaction), for MFA_TOKEN_TTL_SECONDS at
most, for fewer than `MAX_FAILURES` refused answers, and only while the account's password
hash is the one the first step checked (a fingerprint of it is kept with the challenge). The
answers count against the account's second-factor throttle, whichever mfa_token carries them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from authsvc.amr import PWD, methods
from authsvc.clock import Clock
from authsvc.errors import (
    AccountDisabled,
    InvalidMfaToken,
    MfaAnswerMismatch,
    MfaMethodUnavailable,
    Throttled,
)
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.services.email_verification import TOKEN_SHAPE
from authsvc.services.mfa_methods import MfaAnswer, MfaMethod
from authsvc.services.second_factors import SecondFactors
from authsvc.services.sessions import IssuedTokens, SessionService
from authsvc.store.base import UserStore
from authsvc.store.factor_records import ChallengeOutcome, NewMfaChallenge
from authsvc.store.mfa_base import MfaStore
from authsvc.store.records import UserRecord
from authsvc.throttle import LoginThrottle

# Refused answers one mfa_token survives; the fifth ends it.
MAX_FAILURES = 5


class ChallengeStore(MfaStore, UserStore, Protocol):
    """The parts of the store the second step uses."""


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The password was right; `token` and a code of one of `methods` complete the login."""

    token: str
    methods: tuple[str, ...]
    expires_in: int


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class TwoStepLogin:
    def __init__(
        self,
        *,
        sessions: SessionService,
        factors: SecondFactors,
        methods: Iterable[MfaMethod],
        store: ChallengeStore,
        throttle: LoginThrottle,
        ttl: timedelta,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._sessions = sessions
        self._factors = factors
        self._methods = {method.name: method for method in methods}
        self._store = store
        self._throttle = throttle
        self._ttl = ttl
        self._clock = clock
        self._observer = observer

    async def begin(
        self, username: str, password: str, client: ClientInfo
    ) -> IssuedTokens | MfaRequired:
        """A session for an account without a second factor, else the second step's token.

        Raises: Throttled, InvalidCredentials, AccountDisabled, EmailNotVerified.
        """
        user = await self._sessions.admit(username, password, client)
        held = await self._factors.held(user.id)
        if held.factors == 0:
            return await self._sessions.establish(user, client, amr=methods(PWD))
        token = secrets.token_urlsafe(32)
        now = self._clock()
        await self._store.create_mfa_challenge(
            NewMfaChallenge(
                token_hash=_digest(token),
                user_id=user.id,
                password_fingerprint=_digest(user.password_hash),
                created_at=now,
                expires_at=now + self._ttl,
            )
        )
        return MfaRequired(token, held.methods, int(self._ttl.total_seconds()))

    async def pending(self, mfa_token: str, method_name: str) -> UserRecord:
        """The account a live mfa_token is for, when it holds `method_name` (a passkey
        challenge is issued for it).

        Raises: InvalidMfaToken, AccountDisabled, MfaMethodUnavailable.
        """
        _, user, _ = await self._pending(mfa_token, method_name)
        return user

    async def complete(
        self, mfa_token: str, method_name: str, answer: MfaAnswer, client: ClientInfo
    ) -> IssuedTokens:
        """Open the session a first step began, with an answer of `method_name`.

        Raises: MfaAnswerMismatch, InvalidMfaToken, MfaMethodUnavailable, AccountDisabled,
        Throttled, the method's refusal (InvalidMfaCode, PasskeyRefused), TotpNotConfigured,
        PasskeysOff, MalformedCredential, InvalidChallenge.
        """
        known = self._methods.get(method_name)
        if known is not None and not isinstance(answer, known.answer_type):
            raise MfaAnswerMismatch  # a malformed request: nothing looked up, nothing counted
        token_hash, user, method = await self._pending(mfa_token, method_name)
        await self._reserve(user, client)
        proof = await method.proof(user.id, answer, client)
        outcome = (
            await self._store.complete_mfa_challenge(
                token_hash, proof, now=self._clock(), max_failures=MAX_FAILURES
            )
            if proof is not None
            else ChallengeOutcome.REFUSED
        )
        if outcome is ChallengeOutcome.UNUSABLE:
            raise InvalidMfaToken  # completed, or failed too often, by a request racing this
        if outcome is ChallengeOutcome.REFUSED:
            await self._store.fail_mfa_challenge(token_hash, now=self._clock())
            await self._report(EventKind.MFA_CHALLENGE_FAILED, user, client, method_name)
            raise method.refusal
        issued = await self._sessions.establish(user, client, amr=methods(PWD, *method.amr))
        await self._report(EventKind.MFA_LOGIN_COMPLETED, user, client, method_name)
        await method.used(user, client)
        return issued

    async def _pending(self, mfa_token: str, method_name: str) -> tuple[str, UserRecord, MfaMethod]:
        """The token's hash, its account and the method. Raises: as `pending`."""
        token_hash = _digest(mfa_token) if TOKEN_SHAPE.fullmatch(mfa_token) else None
        challenge = (
            await self._store.live_mfa_challenge(
                token_hash, now=self._clock(), max_failures=MAX_FAILURES
            )
            if token_hash is not None
            else None
        )
        if token_hash is None or challenge is None:
            raise InvalidMfaToken
        user = await self._store.get_user(challenge.user_id)
        if user is None or not secrets.compare_digest(
            _digest(user.password_hash), challenge.password_fingerprint
        ):
            raise InvalidMfaToken  # the password changed (or the account went) meanwhile
        if user.disabled_at is not None:
            raise AccountDisabled
        method = self._methods.get(method_name)
        if method is None or method_name not in (await self._factors.held(user.id)).methods:
            raise MfaMethodUnavailable
        return token_hash, user, method

    async def _reserve(self, user: UserRecord, client: ClientInfo) -> None:
        try:
            await self._throttle.reserve_mfa(user.id)
        except Throttled:
            await self._observer.record(
                SecurityEvent(EventKind.MFA_THROTTLED, user_id=user.id, client=client)
            )
            raise

    async def _report(
        self, kind: EventKind, user: UserRecord, client: ClientInfo, method: str
    ) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=user.id, client=client, reason=method)
        )
