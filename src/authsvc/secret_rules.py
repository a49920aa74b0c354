"""The rules every signing secret follows, checked by the settings and by the key ring alike."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

# RFC 8725 §3.1: one key type per deployment; these two sign with PEM keys, the rest with HMAC.
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256"})
# RFC 7518 §3.2: an HMAC key at least as long as the hash output (256 bits for HS256).
MIN_SECRET_BYTES = 32


def is_asymmetric(algorithm: str) -> bool:
    return algorithm in ASYMMETRIC_ALGORITHMS


def check_secrets(access: str | None, refresh: str, previous: Iterable[str] = ()) -> None:
    """Raises: ValueError naming the setting when a secret is too short or shared."""
    named = (("ACCESS_TOKEN_SECRET", access), ("REFRESH_TOKEN_SECRET", refresh))
    for name, value in named:
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"{name} must be at least {MIN_SECRET_BYTES} bytes")
    if access is not None and secrets.compare_digest(access.encode(), refresh.encode()):
        raise ValueError("ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must differ")
    for old in previous:
        if len(old.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"ACCESS_TOKEN_PREVIOUS_SECRETS must each be at least {MIN_SECRET_BYTES} bytes"
            )
        if secrets.compare_digest(old.encode(), refresh.encode()):
            raise ValueError("ACCESS_TOKEN_PREVIOUS_SECRETS must not hold REFRESH_TOKEN_SECRET")
