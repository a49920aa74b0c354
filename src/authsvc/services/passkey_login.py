"""Logging in with a passkey: discoverable, so the browser names the account, not the user.

The assertion is checked by the `webauthn` package (webauthn_ceremonies.py); what is decided
here is the order: the challenge is used before anything else is looked at (so one answer
opens at most one session, on any replica), the signature is checked before the counter (so
only the holder of the key can raise a clone alarm), and the account is checked last, as a
password login checks it after the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authsvc.amr import HWK, methods
from authsvc.clock import Clock
from authsvc.errors import PasskeyRefused, SignCountRegressed, Throttled
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.services.accounts import AccountService
from authsvc.services.login_checks import LoginChecks
from authsvc.services.passkeys import (
    CeremonyStart,
    PasskeyService,
    issue_challenge,
    use_challenge,
)
from authsvc.services.second_factors import SecondFactors
from authsvc.services.sessions import IssuedTokens, SessionService
from authsvc.settings import Settings
from authsvc.store.base import PasskeyStore
from authsvc.store.records import LOGIN, PasskeyRecord, UserRecord
from authsvc.throttle import LoginThrottle
from authsvc.webauthn_ceremonies import Assertion, Ceremonies


class PasskeyLogin:
    def __init__(
        self,
        *,
        store: PasskeyStore,
        passkeys: PasskeyService,
        accounts: AccountService,
        sessions: SessionService,
        throttle: LoginThrottle,
        clock: Clock,
        observer: Observer,
        checks: LoginChecks,
    ) -> None:
        self._store = store
        self._passkeys = passkeys
        self._accounts = accounts
        self._sessions = sessions
        self._throttle = throttle
        self._clock = clock
        self._observer = observer
        self._checks = checks

    async def options(self, client: ClientInfo) -> CeremonyStart:
        """A login challenge, for whichever passkey the browser holds.

        Raises: PasskeysOff, Throttled.
        """
        ceremonies = self._passkeys.ceremonies()
        await self._reserve(client)
        challenge_id, challenge = await issue_challenge(
            self._store,
            purpose=LOGIN,
            user_id=None,
            clock=self._clock,
            ttl_seconds=ceremonies.party.challenge_ttl_seconds,
        )
        return CeremonyStart(
            challenge_id=challenge_id,
            options=ceremonies.authentication_options(challenge=challenge),
        )

    async def login(
        self, challenge_id: str, credential: dict[str, Any], client: ClientInfo
    ) -> IssuedTokens:
        """Check the browser's answer to a login challenge and open a session.

        Raises: PasskeysOff, Throttled, MalformedCredential, InvalidChallenge, PasskeyRefused,
        SignCountRegressed, AccountDisabled, EmailNotVerified.
        """
        ceremonies = self._passkeys.ceremonies()
        await self._reserve(client)
        assertion = ceremonies.parse_assertion(credential)
        await use_challenge(
            self._store,
            challenge_id,
            assertion.challenge,
            purpose=LOGIN,
            user_id=None,
            clock=self._clock,
        )
        passkey = await self._verified_passkey(ceremonies, assertion, client)
        user = await self._admitted_user(passkey, client)
        # User verification was required: the key (held) and its PIN or biometric (known or
        # are) make two factors (RFC 8176 `hwk` plus `mfa`).
        issued = await self._sessions.establish(user, client, amr=methods(HWK, factors=2))
        await self._observer.record(
            SecurityEvent(
                EventKind.PASSKEY_LOGIN,
                user_id=user.id,
                session_id=issued.session_id,
                client=client,
            )
        )
        return issued

    async def _verified_passkey(
        self, ceremonies: Ceremonies, assertion: Assertion, client: ClientInfo
    ) -> PasskeyRecord:
        """Raises: PasskeyRefused, SignCountRegressed."""
        passkey = await self._store.find_passkey(assertion.credential_id)
        if passkey is None:
            await self._failed(None, "unknown_credential", client)
            raise PasskeyRefused
        # The handle is the id the passkey was registered for: another means a mix-up.
        if assertion.user_handle is not None and assertion.user_handle != passkey.user_id.encode():
            await self._failed(passkey.user_id, "user_handle_mismatch", client)
            raise PasskeyRefused(passkey.user_id)
        try:
            verified = ceremonies.verify_assertion(
                assertion, public_key=passkey.public_key, user_id=passkey.user_id
            )
        except PasskeyRefused:
            await self._failed(passkey.user_id, "not_verified", client)
            raise
        # W3C WebAuthn §6.1.1: a counter that does not advance means a copy of the key; the
        # store moves it forward only, so a race with another login of the same key is caught
        # the same way.
        if not await self._store.passkey_used(
            passkey.id,
            sign_count=verified.sign_count,
            backed_up=verified.backed_up,
            now=self._clock(),
        ):
            await self._observer.record(
                SecurityEvent(
                    EventKind.PASSKEY_SIGN_COUNT_REGRESSED, user_id=passkey.user_id, client=client
                )
            )
            raise SignCountRegressed(passkey.user_id)
        return passkey

    async def _admitted_user(self, passkey: PasskeyRecord, client: ClientInfo) -> UserRecord:
        """Raises: PasskeyRefused (the account is gone), AccountDisabled, EmailNotVerified."""
        user = await self._accounts.get_user(passkey.user_id)
        if user is None:
            raise PasskeyRefused(passkey.user_id)
        # Said only to the holder of a passkey, as a password login says it after the password.
        await self._checks.admit_account(user, client)
        return user

    async def _reserve(self, client: ClientInfo) -> None:
        try:
            await self._throttle.reserve_passkey(client.ip)
        except Throttled:
            await self._observer.record(
                SecurityEvent(EventKind.PASSKEY_LOGIN_THROTTLED, client=client)
            )
            raise

    async def _failed(self, user_id: str | None, reason: str, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(
                EventKind.PASSKEY_LOGIN_FAILED, user_id=user_id, reason=reason, client=client
            )
        )


@dataclass(frozen=True, slots=True)
class PasskeyFlows:
    """Everything passkeys take part in, built together (see `build_passkey_flows`)."""

    manage: PasskeyService
    login: PasskeyLogin


def build_passkey_flows(
    *,
    settings: Settings,
    store: PasskeyStore,
    accounts: AccountService,
    sessions: SessionService,
    other_factors: SecondFactors,
    throttle: LoginThrottle,
    clock: Clock,
    observer: Observer,
) -> PasskeyFlows:
    """`other_factors`: every kind of second factor but passkeys (an authenticator app)."""
    party = settings.webauthn
    manage = PasskeyService(
        store=store,
        ceremonies=Ceremonies(party) if party is not None else None,
        accounts=accounts,
        other_factors=other_factors,
        throttle=throttle,
        clock=clock,
        observer=observer,
    )
    login = PasskeyLogin(
        store=store,
        passkeys=manage,
        accounts=accounts,
        sessions=sessions,
        throttle=throttle,
        clock=clock,
        observer=observer,
        checks=sessions.checks,
    )
    return PasskeyFlows(manage=manage, login=login)
