"""Second factors: the key TOTP secrets are sealed under, what authenticator apps show, how
long the second login step may take, and the throttle on codes.

A section of `Settings` (composed.py). The sealing key is 32 random bytes, base64url, read like
every secret (the environment, `.env` or a file in `SECRETS_DIR`). Production without it keeps
TOTP switched off (enrolment answers 404) and says so at startup, as production without
`SMTP_URL` does for mail; development without it derives one from `REFRESH_TOKEN_SECRET`, so
enrolments survive a restart whenever the signing secrets do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from authsvc.settings.sources import CommaList
from authsvc.settings.throttle import RateLimit

# AES-256-GCM (mfa/sealing.py).
MFA_KEY_BYTES = 32
# The longest the second login step may wait for its code (the spec's bound).
MFA_TOKEN_TTL_MAX = 300


@dataclass(frozen=True, slots=True, repr=False)
class MfaKeys:
    """The key that seals TOTP secrets, and older keys that still open them; never shown."""

    current: bytes
    previous: tuple[bytes, ...] = ()
    # True when development derived `current` from the refresh-token secret.
    derived: bool = False


def decode_mfa_key(value: str, name: str) -> bytes:
    """Raises: ValueError naming the setting, never quoting the value."""
    shape = f"{name} must be {MFA_KEY_BYTES} random bytes, base64url-encoded"
    text = value.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(shape) from None
    if len(raw) != MFA_KEY_BYTES:
        raise ValueError(shape)
    return raw


class MfaSettings(BaseModel):
    """The second-factor settings; `Settings` inherits them."""

    # Seals TOTP secrets at rest. A secret; .env.example shows a command that makes one.
    mfa_encryption_key: SecretStr | None = None
    # Older keys, comma-separated: they still open secrets sealed under them, until
    # `authsvc mfa reencrypt` has moved every secret to the current key.
    mfa_encryption_keys_previous: CommaList[SecretStr] = Field(default_factory=list)
    # The name authenticator apps show above the code; a colon would split the otpauth label.
    totp_issuer: str = Field(default="authsvc", min_length=1, max_length=64, pattern=r"^[^:]+$")
    # How long a login has, after the password, to present its second factor.
    mfa_token_ttl_seconds: int = Field(default=MFA_TOKEN_TTL_MAX, ge=30, le=MFA_TOKEN_TTL_MAX)
    # Codes checked per account (TOTP and recovery codes, at login and when managing TOTP),
    # right or wrong, in `limits` notation.
    throttle_mfa_per_account: RateLimit = "5/minute;30/hour"

    _mfa_keys: MfaKeys | None = PrivateAttr(default=None)

    @property
    def mfa_keys(self) -> MfaKeys | None:
        """The sealing keys; None when TOTP is switched off (production without a key)."""
        return self._mfa_keys

    def _resolve_mfa_keys(self, *, production: bool, refresh_secret: str | None) -> None:
        """Decode the keys, or derive one in development. Run by `Settings._check_model`."""
        configured = self.mfa_encryption_key
        previous = tuple(
            decode_mfa_key(key.get_secret_value(), "MFA_ENCRYPTION_KEYS_PREVIOUS")
            for key in self.mfa_encryption_keys_previous
        )
        if configured is not None and configured.get_secret_value().strip():
            current = decode_mfa_key(configured.get_secret_value(), "MFA_ENCRYPTION_KEY")
            self._mfa_keys = MfaKeys(current, previous)
            return
        self.mfa_encryption_key = None  # `MFA_ENCRYPTION_KEY=` as in .env.example: not set
        if previous:
            raise ValueError("MFA_ENCRYPTION_KEYS_PREVIOUS needs MFA_ENCRYPTION_KEY")
        if production or refresh_secret is None:
            self._mfa_keys = None
            return
        derived = hmac.new(
            refresh_secret.encode(), b"authsvc mfa sealing key", hashlib.sha256
        ).digest()
        self._mfa_keys = MfaKeys(derived, derived=True)
