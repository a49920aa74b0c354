"""The kinds of token authsvc issues, each as data: type, keys, audience, lifetime, claims.

`TokenService` has one issue path and one verification path; what differs between an access
and a refresh token is decided here, once, from the key ring and the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from jose import jwk
from jose.backends.base import Key
from jose.backends.native import HMACKey
from jose.constants import ALGORITHMS

from authsvc.errors import InvalidToken
from authsvc.keys import KeyRing, key_text
from authsvc.settings import Settings

TokenKind = Literal["access", "refresh"]

# RFC 9068 §2.1 names the access-token media type; refresh tokens get their own so the two
# are told apart before any claim is read.
HEADER_TYP: Mapping[TokenKind, str] = MappingProxyType(
    {"access": "at+jwt", "refresh": "refresh+jwt"}
)


@dataclass(frozen=True, slots=True)
class TokenType:
    """One kind of token: how it is signed, and what it must carry to be accepted."""

    kind: TokenKind  # the `type` claim
    header_typ: str
    algorithm: str
    signing_key: Key
    # Sent as `kid` and used to pick the verification key; None: the signing key verifies.
    kid: str | None
    verification_keys: Mapping[str, Key]
    audience: str | None
    # Non-empty string claims beyond the registered ones every kind carries.
    string_claims: tuple[str, ...]
    # `exp - iat` at most this; None: bounded by the session instead.
    max_lifetime_seconds: int | None

    def key_for(self, header: Mapping[str, Any]) -> Key:
        """Raises: InvalidToken when the header names no key of this kind."""
        if self.kid is None:
            return self.signing_key
        kid = header.get("kid")
        found = self.verification_keys.get(kid) if isinstance(kid, str) else None
        if found is None:
            raise InvalidToken("unknown key id")
        return found


def token_types(keys: KeyRing, settings: Settings) -> dict[TokenKind, TokenType]:
    """The two kinds, with python-jose keys built once from `keys`."""
    verification = {
        kid: _jose_key(key_text(key), keys.algorithm) for kid, key in keys.verification_keys.items()
    }
    return {
        "access": TokenType(
            kind="access",
            header_typ=HEADER_TYP["access"],
            algorithm=keys.algorithm,
            signing_key=_jose_key(key_text(keys.signing_key), keys.algorithm),
            kid=keys.kid,
            verification_keys=MappingProxyType(verification),
            audience=settings.jwt_audience,
            string_claims=("username",),
            max_lifetime_seconds=settings.access_token_ttl_seconds,
        ),
        "refresh": TokenType(
            kind="refresh",
            header_typ=HEADER_TYP["refresh"],
            algorithm=keys.refresh_algorithm,
            signing_key=_jose_key(keys.refresh_secret, keys.refresh_algorithm),
            kid=None,
            verification_keys=MappingProxyType({}),
            audience=None,
            string_claims=(),
            max_lifetime_seconds=None,
        ),
    }


def _jose_key(key: str, algorithm: str) -> Key:
    """python-jose's key for `algorithm`; HMAC keys from its hashlib backend.

    Its default HMAC key (the cryptography backend) builds an HMAC context and imports its
    backend on every signature, half again the time hashlib's OpenSSL HMAC takes; a rotation
    signs twice and verifies once. Both compare signatures in constant time.
    """
    if algorithm in ALGORITHMS.HMAC:
        return HMACKey(key, algorithm)
    return jwk.construct(key, algorithm)
