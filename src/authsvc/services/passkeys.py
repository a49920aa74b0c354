"""A user's passkeys: registering one (two steps: options, then the browser's answer), listing,
renaming and removing them.

A challenge lives in the store, single-use and short-lived, so the second step may reach any
replica. Removing the account's last second factor takes the current password: a stolen
access token must not strip the account of its strongest login.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authsvc.clock import Clock
from authsvc.errors import (
    CurrentPasswordRequired,
    InvalidChallenge,
    PasskeyNotFound,
    PasskeysOff,
)
from authsvc.events import ClientInfo, EventKind, Observer
from authsvc.services.accounts import AccountService
from authsvc.services.cursors import is_passkey_record_id
from authsvc.services.reauthentication import PASSKEY_REMOVAL, Reauthentication
from authsvc.services.second_factors import Held, SecondFactors
from authsvc.store.factor_records import (
    REGISTRATION,
    NewChallenge,
    NewPasskey,
    PasskeyRecord,
    PasskeyRemoval,
)
from authsvc.store.mfa_base import FactorCounts
from authsvc.store.passkey_base import PasskeyStore
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims
from authsvc.webauthn_ceremonies import Ceremonies, challenge_hash

DEFAULT_NAME = "Passkey"
PASSKEY_METHOD = "passkey"
CHALLENGE_BYTES = 32  # W3C WebAuthn §13.4.3: at least 16 random bytes


@dataclass(frozen=True, slots=True)
class CeremonyStart:
    """Options for the browser, and the id under which their challenge is stored."""

    challenge_id: str
    options: dict[str, Any]


class PasskeyFactor:
    """Passkeys as a kind of second factor (services/second_factors.py): one factor each."""

    def __init__(self, store: PasskeyStore) -> None:
        self._store = store

    def held_in(self, counts: FactorCounts) -> Held:
        count = counts.passkeys
        return Held(methods=(PASSKEY_METHOD,), factors=count) if count else Held()

    async def remove_all(self, user_id: str) -> int:
        return await self._store.remove_all_passkeys(user_id)


async def issue_challenge(
    store: PasskeyStore, *, purpose: str, user_id: str | None, clock: Clock, ttl_seconds: int
) -> tuple[str, bytes]:
    """Store a new challenge's hash; its id and the challenge."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    now = clock()
    challenge_id = str(uuid.uuid4())
    await store.add_challenge(
        NewChallenge(
            id=challenge_id,
            purpose=purpose,
            user_id=user_id,
            challenge_hash=challenge_hash(challenge),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return challenge_id, challenge


async def use_challenge(
    store: PasskeyStore,
    challenge_id: str,
    signed: bytes,
    *,
    purpose: str,
    user_id: str | None,
    clock: Clock,
) -> None:
    """Use the stored challenge once; it must be the one the browser signed.

    Raises: InvalidChallenge for an unknown, used or expired challenge, one of another
    purpose or user, or one other than the browser signed.
    """
    if not is_passkey_record_id(challenge_id):
        # Not an id we handed out; the database might even refuse it (NUL bytes).
        raise InvalidChallenge
    stored = await store.use_challenge(challenge_id, purpose=purpose, user_id=user_id, now=clock())
    if stored is None or not hmac.compare_digest(stored, challenge_hash(signed)):
        raise InvalidChallenge


class PasskeyService:
    def __init__(
        self,
        *,
        store: PasskeyStore,
        ceremonies: Ceremonies | None,
        accounts: AccountService,
        other_factors: SecondFactors,
        throttle: LoginThrottle,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._store = store
        self._ceremonies = ceremonies
        self._accounts = accounts
        # The kinds of second factor other than passkeys (an authenticator app).
        self._other_factors = other_factors
        self._reauthentication = Reauthentication(
            accounts=accounts, throttle=throttle, observer=observer
        )
        self._clock = clock
        self._observer = observer

    def ceremonies(self) -> Ceremonies:
        """Raises: PasskeysOff when no relying party is configured."""
        if self._ceremonies is None:
            raise PasskeysOff
        return self._ceremonies

    async def registration_options(self, claims: AccessClaims) -> CeremonyStart:
        """Raises: PasskeysOff, SessionEnded."""
        ceremonies = self.ceremonies()
        user = await self._accounts.current_user(claims.user_id)
        existing = await self._store.list_passkeys(user.id)
        challenge_id, challenge = await issue_challenge(
            self._store,
            purpose=REGISTRATION,
            user_id=user.id,
            clock=self._clock,
            ttl_seconds=ceremonies.party.challenge_ttl_seconds,
        )
        options = ceremonies.registration_options(
            user_id=user.id,
            username=user.username,
            challenge=challenge,
            existing=[(p.credential_id, p.transports) for p in existing],
        )
        return CeremonyStart(challenge_id=challenge_id, options=options)

    async def register(
        self,
        claims: AccessClaims,
        challenge_id: str,
        credential: dict[str, Any],
        *,
        name: str | None,
        client: ClientInfo,
    ) -> PasskeyRecord:
        """Verify the browser's answer to a registration challenge and keep the passkey.

        Raises: PasskeysOff, SessionEnded, MalformedCredential, InvalidChallenge,
        PasskeyNotVerified, PasskeyTaken.
        """
        ceremonies = self.ceremonies()
        user = await self._accounts.current_user(claims.user_id)
        attestation = ceremonies.parse_attestation(credential)
        await use_challenge(
            self._store,
            challenge_id,
            attestation.challenge,
            purpose=REGISTRATION,
            user_id=user.id,
            clock=self._clock,
        )
        verified = ceremonies.verify_attestation(attestation)
        passkey = await self._store.add_passkey(
            NewPasskey(
                id=str(uuid.uuid4()),
                user_id=user.id,
                credential_id=verified.credential_id,
                public_key=verified.public_key,
                sign_count=verified.sign_count,
                transports=verified.transports,
                aaguid=verified.aaguid,
                name=name or DEFAULT_NAME,
                backed_up=verified.backed_up,
                created_at=self._clock(),
            )
        )
        await self._reauthentication.report(EventKind.PASSKEY_REGISTERED, claims, client)
        return passkey

    async def list(self, claims: AccessClaims) -> list[PasskeyRecord]:
        """Raises: PasskeysOff."""
        self.ceremonies()
        return await self._store.list_passkeys(claims.user_id)

    async def rename(
        self, claims: AccessClaims, passkey_id: str, name: str, client: ClientInfo
    ) -> PasskeyRecord:
        """Raises: PasskeysOff, PasskeyNotFound (also for another user's passkey)."""
        self.ceremonies()
        if not is_passkey_record_id(passkey_id):
            raise PasskeyNotFound
        renamed = await self._store.rename_passkey(claims.user_id, passkey_id, name=name)
        if renamed is None:
            raise PasskeyNotFound
        await self._reauthentication.report(EventKind.PASSKEY_RENAMED, claims, client)
        return renamed

    async def remove(
        self,
        claims: AccessClaims,
        passkey_id: str,
        *,
        current_password: str | None,
        client: ClientInfo,
    ) -> None:
        """Remove one of the caller's passkeys; the account's last second factor only with
        the current password.

        Raises: PasskeysOff, PasskeyNotFound, CurrentPasswordRequired, Throttled,
        WrongPassword, HashingBusy, SessionEnded.
        """
        self.ceremonies()
        if not is_passkey_record_id(passkey_id):
            raise PasskeyNotFound
        if current_password is not None:
            await self._reauthentication.confirm_password(
                claims, current_password, client=client, refusals=PASSKEY_REMOVAL
            )
            keep_last = False
        else:
            # Another kind of factor stays whatever happens here; among passkeys, the store
            # decides under a lock whether another remains (passkeys counted here could be
            # removed by a racing request before this one removes its own).
            keep_last = not await self._other_factors.has_any(claims.user_id)
        outcome = await self._store.remove_passkey(claims.user_id, passkey_id, keep_last=keep_last)
        if outcome is PasskeyRemoval.NOT_FOUND:
            raise PasskeyNotFound
        if outcome is PasskeyRemoval.LAST:
            raise CurrentPasswordRequired
        await self._reauthentication.report(EventKind.PASSKEY_REMOVED, claims, client)
