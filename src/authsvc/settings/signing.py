"""How tokens are signed: HMAC secrets or PEM keys, their rotation, and the claims checked.

Settings hold strings and paths only: PEM keys are read and checked by `keys.KeyRing`, when
the app (or a command that signs) starts.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from authsvc.secret_rules import is_asymmetric
from authsvc.settings.sources import CommaList

# The placeholders shipped in `.env.example`; production refuses them verbatim.
EXAMPLE_SECRETS = frozenset(
    {
        "replace-me-with-at-least-32-random-bytes-for-access-tokens",
        "replace-me-with-at-least-32-random-bytes-for-refresh-tokens",
    }
)


class TokenSettings(BaseModel):
    access_token_secret: SecretStr | None = None
    refresh_token_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512", "RS256", "ES256"] = "HS256"
    # RS256/ES256: access tokens are signed with this PEM private key (inline or from a file)
    # and verified with its public key and the previous public keys, published in the JWKS.
    # Read and checked by `KeyRing.from_settings` (keys.py); here only which ones are set.
    access_token_private_key: SecretStr | None = None
    access_token_private_key_file: Path | None = None
    access_token_key_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-.]{1,64}$")
    access_token_previous_public_keys_file: Path | None = None
    # HMAC rotation: old access-token secrets, accepted for verification only.
    access_token_previous_secrets: CommaList[SecretStr] = Field(default_factory=list)
    jwt_issuer: str = Field(default="authsvc", min_length=1)
    jwt_audience: str = Field(default="authsvc", min_length=1)
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)
    # Access tokens each process remembers as verified (signature and claims), until they
    # expire; the revocation list is still asked on every check. 0 verifies every time.
    verify_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)

    # False for commands that neither issue nor verify tokens (see `ManagementSettings`).
    signs_tokens: ClassVar[bool] = True

    _ephemeral_secrets: bool = PrivateAttr(default=False)

    @property
    def has_ephemeral_secrets(self) -> bool:
        """True when development mode made up the secrets; tokens die with the process."""
        return self._ephemeral_secrets

    @property
    def uses_asymmetric_keys(self) -> bool:
        return is_asymmetric(self.jwt_algorithm)

    def previous_secret_values(self) -> tuple[str, ...]:
        return tuple(s.get_secret_value() for s in self.access_token_previous_secrets)

    def secret_values(self) -> tuple[str | None, str]:
        """The access secret (None when RS256/ES256 sign without one) and the refresh secret."""
        if self.refresh_token_secret is None:
            raise RuntimeError("signing secrets are not configured")
        access = self.access_token_secret
        return (
            access.get_secret_value() if access is not None else None,
            self.refresh_token_secret.get_secret_value(),
        )

    def _check_signing_keys(self) -> None:
        """One key type per deployment, complete. Run by `Settings._check_model`."""
        if not self.signs_tokens:
            return
        has_pem = (
            self.access_token_private_key is not None
            or self.access_token_private_key_file is not None
            or self.access_token_previous_public_keys_file is not None
        )
        if not self.uses_asymmetric_keys:
            # RFC 8725 §3.1: one key type per deployment, so no algorithm switch can confuse them.
            if has_pem:
                raise ValueError(
                    f"JWT_ALGORITHM={self.jwt_algorithm} is HMAC: unset ACCESS_TOKEN_PRIVATE_KEY, "
                    "ACCESS_TOKEN_PRIVATE_KEY_FILE and ACCESS_TOKEN_PREVIOUS_PUBLIC_KEYS_FILE, "
                    "or choose RS256/ES256"
                )
            return
        if self.access_token_previous_secrets:
            raise ValueError(
                f"JWT_ALGORITHM={self.jwt_algorithm} uses PEM keys: "
                "ACCESS_TOKEN_PREVIOUS_SECRETS must be empty"
            )
        if (self.access_token_private_key is None) == (self.access_token_private_key_file is None):
            raise ValueError(
                f"JWT_ALGORITHM={self.jwt_algorithm} needs exactly one of "
                "ACCESS_TOKEN_PRIVATE_KEY and ACCESS_TOKEN_PRIVATE_KEY_FILE"
            )


def ephemeral_secret() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(48))
