"""The records of second factors: TOTP credentials, the second login step's challenges and
the proofs that complete them, passkeys and their WebAuthn challenges (see `records.py` for the
rest; `mfa_base.py` and `passkey_base.py` are the interfaces that take them)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TotpRecord:
    user_id: str
    sealed_secret: str  # mfa/sealing.py; never the secret itself
    created_at: datetime
    confirmed_at: datetime | None  # None until a first code confirmed the enrolment
    last_step: int | None  # the newest time step a code was accepted for


@dataclass(frozen=True, slots=True)
class NewMfaChallenge:
    """The second login step, as issued once the password was right."""

    token_hash: str  # SHA-256 of the mfa_token: the token itself is never stored
    user_id: str
    # SHA-256 of the password hash the login checked: a change of password ends the step.
    password_fingerprint: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MfaChallenge(NewMfaChallenge):
    failures: int


@dataclass(frozen=True, slots=True)
class TotpStep:
    """Proof by authenticator app: a code of this time step, accepted once."""

    step: int


@dataclass(frozen=True, slots=True)
class RecoveryCodeHash:
    """Proof by recovery code: the stored form of one, used once."""

    code_hash: str


@dataclass(frozen=True, slots=True)
class PasskeyAssertion:
    """Proof by passkey: an assertion the passkey flow verified already (its WebAuthn
    challenge used and its counter moved, once each); completing the step claims the
    mfa_token's challenge, while this passkey is still the account's."""

    passkey_id: str


# What a second step presents; another factor kind adds its own proof here.
FactorProof = TotpStep | RecoveryCodeHash | PasskeyAssertion


class ChallengeOutcome(enum.Enum):
    COMPLETED = "completed"  # the challenge is used and the proof consumed, together
    UNUSABLE = "unusable"  # unknown, used, expired or failed too often
    REFUSED = "refused"  # the proof was not accepted (a replayed step, a used code)


# The purposes of WebAuthn challenges (the `purpose` column).
REGISTRATION = "registration"
LOGIN = "login"
SECOND_STEP = "second_step"  # a passkey after the password, for the mfa_token's account


@dataclass(frozen=True, slots=True)
class NewChallenge:
    """A WebAuthn challenge as handed out; only its hash is kept."""

    id: str
    purpose: str  # REGISTRATION, LOGIN or SECOND_STEP
    # The account a registration or second-step challenge was issued to; None for a
    # (discoverable) login.
    user_id: str | None
    challenge_hash: str  # SHA-256 of the challenge's bytes, hex
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewPasskey:
    """A verified credential, as registered."""

    id: str
    user_id: str
    credential_id: str  # base64url, as the browser names it
    public_key: bytes  # COSE_Key, as the authenticator gave it
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    name: str
    backed_up: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PasskeyRecord(NewPasskey):
    last_used_at: datetime | None = None


class PasskeyRemoval(enum.Enum):
    REMOVED = "removed"
    NOT_FOUND = "not_found"  # no such passkey of this user
    LAST = "last"  # kept: it is the user's last passkey and `keep_last` was asked
