"""TOTP: enrolment, confirmation with ten recovery codes, removal, and codes as login proofs.

Enrolment takes the current password unless the session logged in within `RECENT_LOGIN`: a
stolen access token must not be able to tie the account to the thief's authenticator app. A
setup stays unconfirmed, and counts for nothing, until a first code proves the app holds the
secret; a new setup replaces an unconfirmed one. Removal takes the current password, or a code
when another second factor remains: the last factor never goes on a code alone, or the code
would be all it takes to turn two factors into one.

Every code check is throttled per account before it runs (throttle.py, `reserve_mfa`), and a
code is accepted once: its time step must be newer than the last accepted one, checked and
written in one conditional UPDATE (store/sql_mfa.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from authsvc.clock import Clock
from authsvc.errors import (
    CurrentPasswordRequired,
    InvalidMfaCode,
    NoTotpSetup,
    Throttled,
    TotpAlreadyEnabled,
    TotpNotConfigured,
    TotpNotEnabled,
)
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.mfa import recovery, totp
from authsvc.mfa.sealing import Sealer, UnsealError
from authsvc.services.accounts import AccountService
from authsvc.services.second_factors import Held, SecondFactors
from authsvc.store.base import SessionStore
from authsvc.store.factor_records import TotpStep
from authsvc.store.mfa_base import FactorCounts, MfaStore
from authsvc.store.records import UserRecord
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims

TOTP = "totp"
RECOVERY_CODE = "recovery_code"
# A login this recent vouches for the user as the password would.
RECENT_LOGIN = timedelta(minutes=5)

log = logging.getLogger("authsvc.mfa")


class TotpStore(MfaStore, SessionStore, Protocol):
    """The parts of the store TOTP uses."""


@dataclass(frozen=True, slots=True)
class TotpFactor:
    """TOTP as a kind of second factor (services/second_factors.py): what an account holds."""

    store: MfaStore

    def held_in(self, counts: FactorCounts) -> Held:
        # Only a confirmed credential counts: one that awaits its first code proves nothing.
        return Held(methods=(TOTP, RECOVERY_CODE), factors=1) if counts.totp else Held()

    async def remove_all(self, user_id: str) -> int:
        return 1 if await self.store.delete_totp(user_id) else 0


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What an authenticator app needs: the secret, as text, as a URI and as a QR code."""

    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True, slots=True)
class MfaStatus:
    totp_enabled: bool
    totp_pending: bool  # set up, not confirmed yet
    recovery_codes_left: int
    methods: tuple[str, ...]  # what the second login step offers


class TotpService:
    def __init__(
        self,
        *,
        store: TotpStore,
        sealer: Sealer | None,
        accounts: AccountService,
        throttle: LoginThrottle,
        factors: SecondFactors,
        issuer: str,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._store = store
        # None in production without MFA_ENCRYPTION_KEY: TOTP is off.
        self._sealer = sealer
        self._accounts = accounts
        self._throttle = throttle
        self._factors = factors
        self._issuer = issuer
        self._clock = clock
        self._observer = observer

    async def status(self, claims: AccessClaims) -> MfaStatus:
        record = await self._store.get_totp(claims.user_id)
        held = await self._factors.held(claims.user_id)
        return MfaStatus(
            totp_enabled=record is not None and record.confirmed_at is not None,
            totp_pending=record is not None and record.confirmed_at is None,
            recovery_codes_left=await self._store.recovery_codes_left(claims.user_id),
            methods=held.methods,
        )

    async def setup(
        self, claims: AccessClaims, current_password: str | None, client: ClientInfo
    ) -> TotpEnrolment:
        """A new secret for the caller's authenticator app, replacing an unconfirmed one.

        Raises: TotpNotConfigured, TotpAlreadyEnabled, CurrentPasswordRequired, WrongPassword,
        Throttled, SessionEnded.
        """
        sealer = self._available()
        user = await self._accounts.current_user(claims.user_id)
        if await self._is_enabled(user.id):
            raise TotpAlreadyEnabled
        if current_password is not None or not await self._logged_in_recently(claims):
            await self._check_password(user, current_password, client)
        secret = totp.new_secret()
        if not await self._store.begin_totp(
            user.id, sealer.seal(secret.encode(), user_id=user.id), now=self._clock()
        ):
            raise TotpAlreadyEnabled
        uri = totp.provisioning_uri(secret, account=user.username, issuer=self._issuer)
        return TotpEnrolment(secret=secret, uri=uri, qr_svg=totp.qr_svg(uri))

    async def confirm(self, claims: AccessClaims, code: str, client: ClientInfo) -> list[str]:
        """Enable TOTP with a first code; the ten recovery codes, shown this once.

        Raises: TotpNotConfigured, TotpAlreadyEnabled, NoTotpSetup, Throttled, InvalidMfaCode.
        """
        sealer = self._available()
        record = await self._store.get_totp(claims.user_id)
        if record is None:
            raise NoTotpSetup
        if record.confirmed_at is not None:
            raise TotpAlreadyEnabled
        await self._reserve(claims.user_id, client)
        secret = self._open(sealer, record.sealed_secret, claims.user_id)
        step = totp.matching_step(secret, code, at=self._clock()) if secret else None
        if step is None:
            await self._report(EventKind.TOTP_CODE_REJECTED, claims, client)
            raise InvalidMfaCode
        codes = recovery.new_codes()
        hashes = [recovery.code_hash(claims.user_id, code.replace("-", "")) for code in codes]
        if not await self._store.confirm_totp(
            claims.user_id,
            sealed_secret=record.sealed_secret,
            step=step,
            recovery_hashes=hashes,
            now=self._clock(),
        ):
            raise NoTotpSetup  # confirmed or replaced by a request racing this one
        await self._report(EventKind.TOTP_ENABLED, claims, client)
        return codes

    async def disable(
        self,
        claims: AccessClaims,
        *,
        code: str | None,
        current_password: str | None,
        client: ClientInfo,
    ) -> None:
        """Remove TOTP and the recovery codes, with the password, or with a code while
        another factor remains.

        Raises: TotpNotEnabled, CurrentPasswordRequired, WrongPassword, Throttled,
        InvalidMfaCode, TotpNotConfigured, SessionEnded.
        """
        user = await self._accounts.current_user(claims.user_id)
        if not await self._is_enabled(user.id):
            raise TotpNotEnabled
        if current_password is not None:
            await self._check_password(user, current_password, client)
        else:
            held = await self._factors.held(user.id)
            # A code proves the factor it removes; with nothing left behind it, the account
            # would drop to one factor on the strength of that factor alone.
            if code is None or held.factors <= 1:
                raise CurrentPasswordRequired
            await self._reserve(user.id, client)
            step = await self.proof(user.id, code)
            if step is None or not await self._store.use_factor(user.id, step, now=self._clock()):
                await self._report(EventKind.TOTP_CODE_REJECTED, claims, client)
                raise InvalidMfaCode
        await self._store.delete_totp(user.id)
        await self._report(EventKind.TOTP_DISABLED, claims, client)

    async def proof(self, user_id: str, code: str) -> TotpStep | None:
        """The time step `code` proves for the account's confirmed TOTP, not yet consumed;
        None for a wrong code or an account without TOTP.

        Raises: TotpNotConfigured.
        """
        sealer = self._available()
        record = await self._store.get_totp(user_id)
        if record is None or record.confirmed_at is None:
            return None
        secret = self._open(sealer, record.sealed_secret, user_id)
        step = totp.matching_step(secret, code, at=self._clock()) if secret else None
        return TotpStep(step) if step is not None else None

    def _available(self) -> Sealer:
        if self._sealer is None:
            raise TotpNotConfigured
        return self._sealer

    @staticmethod
    def _open(sealer: Sealer, sealed: str, user_id: str) -> str | None:
        try:
            return sealer.open(sealed, user_id=user_id).decode()
        except UnsealError:
            # Fail closed: a key missing from MFA_ENCRYPTION_KEYS_PREVIOUS, or a row moved
            # between accounts. Recovery codes still work.
            log.error("a TOTP secret does not open under the configured MFA keys")  # noqa: TRY400
            return None

    async def _is_enabled(self, user_id: str) -> bool:
        record = await self._store.get_totp(user_id)
        return record is not None and record.confirmed_at is not None

    async def _logged_in_recently(self, claims: AccessClaims) -> bool:
        session = await self._store.get_session(claims.session_id)
        return session is not None and self._clock() - session.created_at < RECENT_LOGIN

    async def _check_password(
        self, user: UserRecord, password: str | None, client: ClientInfo
    ) -> None:
        """Raises: CurrentPasswordRequired, Throttled, WrongPassword, HashingBusy."""
        if password is None:
            raise CurrentPasswordRequired
        # Throttled like a login: a stolen access token must not become a password oracle.
        reservation = await self._throttle.reserve(user.username, client.ip)
        await self._accounts.check_password(user, password)
        await self._throttle.succeeded(reservation)

    async def _reserve(self, user_id: str, client: ClientInfo) -> None:
        try:
            await self._throttle.reserve_mfa(user_id)
        except Throttled:
            await self._observer.record(
                SecurityEvent(EventKind.MFA_THROTTLED, user_id=user_id, client=client)
            )
            raise

    async def _report(self, kind: EventKind, claims: AccessClaims, client: ClientInfo) -> None:
        await self._observer.record(
            SecurityEvent(kind, user_id=claims.user_id, session_id=claims.session_id, client=client)
        )
