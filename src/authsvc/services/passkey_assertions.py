"""Asking for a passkey assertion and checking the answer: one way for the passkey login (any
account's passkey, no username) and for the second login step (the mfa_token's account's).

The assertion is checked by the `webauthn` package (webauthn_ceremonies.py); what is decided
here is the order: the challenge is used before anything else is looked at (so one answer is
accepted at most once, on any replica), the owner is checked before the signature (another
account's key is never touched), and the signature before the counter (so only the holder of
the key can raise a clone alarm).
"""

from __future__ import annotations

from typing import Any

from authsvc.clock import Clock
from authsvc.errors import PasskeyRefused, SignCountRegressed, Throttled
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.services.passkeys import CeremonyStart, PasskeyService, issue_challenge, use_challenge
from authsvc.store.factor_records import PasskeyRecord
from authsvc.store.passkey_base import PasskeyStore
from authsvc.throttle import LoginThrottle
from authsvc.webauthn_ceremonies import Assertion, Ceremonies


class PasskeyAssertions:
    def __init__(
        self,
        *,
        store: PasskeyStore,
        passkeys: PasskeyService,
        throttle: LoginThrottle,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._store = store
        self._passkeys = passkeys
        self._throttle = throttle
        self._clock = clock
        self._observer = observer

    async def reserve(self, client: ClientInfo) -> None:
        """Take one passkey login request from the client address's budget.

        Raises: Throttled.
        """
        try:
            await self._throttle.reserve_passkey(client.ip)
        except Throttled:
            await self._observer.record(
                SecurityEvent(EventKind.PASSKEY_LOGIN_THROTTLED, client=client)
            )
            raise

    async def start(self, *, purpose: str, user_id: str | None) -> CeremonyStart:
        """A challenge of `purpose`, for `user_id`'s passkeys only when given.

        Raises: PasskeysOff.
        """
        ceremonies = self._passkeys.ceremonies()
        allowed = (
            [(p.credential_id, p.transports) for p in await self._store.list_passkeys(user_id)]
            if user_id is not None
            else None
        )
        challenge_id, challenge = await issue_challenge(
            self._store,
            purpose=purpose,
            user_id=user_id,
            clock=self._clock,
            ttl_seconds=ceremonies.party.challenge_ttl_seconds,
        )
        options = ceremonies.authentication_options(challenge=challenge, allowed=allowed)
        return CeremonyStart(challenge_id=challenge_id, options=options)

    async def verify(
        self,
        challenge_id: str,
        credential: dict[str, Any],
        *,
        purpose: str,
        user_id: str | None,
        client: ClientInfo,
    ) -> PasskeyRecord:
        """The passkey that answered a challenge of `purpose` issued for `user_id` (None: any
        account's passkey), its counter moved forward.

        Raises: PasskeysOff, MalformedCredential, InvalidChallenge, PasskeyRefused,
        SignCountRegressed.
        """
        ceremonies = self._passkeys.ceremonies()
        assertion = ceremonies.parse_assertion(credential)
        await use_challenge(
            self._store,
            challenge_id,
            assertion.challenge,
            purpose=purpose,
            user_id=user_id,
            clock=self._clock,
        )
        passkey = await self._store.find_passkey(assertion.credential_id)
        if passkey is None:
            await self._failed(user_id, "unknown_credential", client)
            raise PasskeyRefused(user_id)
        if user_id is not None and passkey.user_id != user_id:
            # A second step: only a passkey of the account whose password was checked.
            await self._failed(user_id, "other_account", client)
            raise PasskeyRefused(user_id)
        return await self._checked(ceremonies, assertion, passkey, client)

    async def _checked(
        self,
        ceremonies: Ceremonies,
        assertion: Assertion,
        passkey: PasskeyRecord,
        client: ClientInfo,
    ) -> PasskeyRecord:
        """Raises: PasskeyRefused, SignCountRegressed."""
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

    async def _failed(self, user_id: str | None, reason: str, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(
                EventKind.PASSKEY_LOGIN_FAILED, user_id=user_id, reason=reason, client=client
            )
        )
