"""Logging in with a passkey: discoverable, so the browser names the account, not the user.

The answer is checked as every passkey assertion is (passkey_assertions.py: the challenge
used first, the signature before the counter); the account is checked last, as a password
login checks it after the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authsvc.amr import HWK, methods
from authsvc.clock import Clock
from authsvc.errors import PasskeyRefused
from authsvc.events import ClientInfo, EventKind, Observer
from authsvc.services.accounts import AccountService
from authsvc.services.login_checks import LoginChecks
from authsvc.services.passkey_assertions import PasskeyAssertions
from authsvc.services.passkeys import CeremonyStart, PasskeyService
from authsvc.services.second_factors import SecondFactors
from authsvc.services.sessions import IssuedTokens, SessionService
from authsvc.settings import Settings
from authsvc.store.factor_records import LOGIN, PasskeyRecord
from authsvc.store.passkey_base import PasskeyStore
from authsvc.store.records import UserRecord
from authsvc.throttle import LoginThrottle
from authsvc.webauthn_ceremonies import Ceremonies


class PasskeyLogin:
    def __init__(
        self,
        *,
        passkeys: PasskeyService,
        assertions: PasskeyAssertions,
        accounts: AccountService,
        sessions: SessionService,
        checks: LoginChecks,
    ) -> None:
        self._passkeys = passkeys
        self._assertions = assertions
        self._accounts = accounts
        self._sessions = sessions
        self._checks = checks

    async def options(self, client: ClientInfo) -> CeremonyStart:
        """A login challenge, for whichever passkey the browser holds.

        Raises: PasskeysOff, Throttled.
        """
        self._passkeys.ceremonies()
        await self._assertions.reserve(client)
        return await self._assertions.start(purpose=LOGIN, user_id=None)

    async def login(
        self, challenge_id: str, credential: dict[str, Any], client: ClientInfo
    ) -> IssuedTokens:
        """Check the browser's answer to a login challenge and open a session.

        Raises: PasskeysOff, Throttled, MalformedCredential, InvalidChallenge, PasskeyRefused,
        SignCountRegressed, AccountDisabled, EmailNotVerified.
        """
        self._passkeys.ceremonies()
        await self._assertions.reserve(client)
        passkey = await self._assertions.verify(
            challenge_id, credential, purpose=LOGIN, user_id=None, client=client
        )
        user = await self._admitted_user(passkey, client)
        # User verification was required: the key (held) and its PIN or biometric (known or
        # are) make two factors (RFC 8176 `hwk` plus `mfa`).
        return await self._sessions.establish(
            user,
            client,
            amr=methods(HWK, factors=2),
            also_reported_as=EventKind.PASSKEY_LOGIN,
        )

    async def _admitted_user(self, passkey: PasskeyRecord, client: ClientInfo) -> UserRecord:
        """Raises: PasskeyRefused (the account is gone), AccountDisabled, EmailNotVerified."""
        user = await self._accounts.get_user(passkey.user_id)
        if user is None:
            raise PasskeyRefused(passkey.user_id)
        # Said only to the holder of a passkey, as a password login says it after the password.
        await self._checks.admit_account(user, client)
        return user


@dataclass(frozen=True, slots=True)
class PasskeyFlows:
    """Everything passkeys take part in, built together (see `build_passkey_flows`)."""

    manage: PasskeyService
    login: PasskeyLogin
    # Challenges and their answers, for the second login step as well.
    assertions: PasskeyAssertions


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
    assertions = PasskeyAssertions(
        store=store, passkeys=manage, throttle=throttle, clock=clock, observer=observer
    )
    login = PasskeyLogin(
        passkeys=manage,
        assertions=assertions,
        accounts=accounts,
        sessions=sessions,
        checks=sessions.checks,
    )
    return PasskeyFlows(manage=manage, login=login, assertions=assertions)
