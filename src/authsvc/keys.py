"""Signing keys: loaded from the settings and checked once, then looked up by `kid`.

Only `cryptography` lives here; `TokenService` turns these objects into python-jose keys.
Every parser checks that a key fits the one configured algorithm (RFC 8725 §3.1, §3.5):
RSA of at least 2048 bits for RS256, P-256 for ES256. Settings say where the material is;
`KeyRing.from_settings` reads and checks it, so a bad key stops create_app and serve.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authsvc.secret_rules import (
    check_secrets,
)

if TYPE_CHECKING:
    from pydantic import SecretStr

    from authsvc.settings import Settings

MIN_RSA_BITS = 2048
# Refresh tokens are only ever read by authsvc itself: HMAC with their own secret, whatever
# signs the access tokens.
REFRESH_ALGORITHM_WITH_PEM_KEYS = "HS256"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
# An HMAC secret, or a public key (the private one signs; see `KeyRing.signing_key`).
VerificationKey = str | PublicKey

_PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _check_fits(public: object, algorithm: str) -> None:
    if algorithm == "RS256":
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < MIN_RSA_BITS:
            raise ValueError(f"RS256 needs an RSA key of at least {MIN_RSA_BITS} bits")
    elif algorithm == "ES256":
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
            public.curve, ec.SECP256R1
        ):
            raise ValueError("ES256 needs an EC key on the P-256 curve")
    else:
        raise ValueError(f"{algorithm} is not an asymmetric algorithm")


def load_private_key(pem: str, algorithm: str) -> PrivateKey:
    """Raises: ValueError when `pem` is not an unencrypted private key fit for `algorithm`."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Never quote the input: it is a private key.
        raise ValueError("not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        _check_fits(key.public_key(), algorithm)
        return key
    raise ValueError(f"{algorithm} needs an RSA or EC private key")


def load_public_keys(text: str, algorithm: str) -> list[PublicKey]:
    """Zero or more concatenated PEM public keys. Raises: ValueError on anything else."""
    blocks = _PUBLIC_PEM.findall(text)
    if _PUBLIC_PEM.sub("", text).strip():
        raise ValueError("expected only PEM public keys (-----BEGIN PUBLIC KEY-----)")
    keys: list[PublicKey] = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("not a PEM public key") from None
        _check_fits(key, algorithm)
        if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            keys.append(key)
    return keys


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"{algorithm} is not an asymmetric algorithm")


def private_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_pem(key: PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(public: PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of `public`."""
    # RFC 7638 §3.2: the required members only, sorted, no whitespace.
    canonical = json.dumps(_jwk_members(public), sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def hmac_key_id(secret: str) -> str:
    """A kid for an HMAC secret; domain-separated and truncated, so it reveals nothing usable."""
    return _b64url(hashlib.sha256(b"kid:" + secret.encode()).digest()[:9])


def _int_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return _b64url(value.to_bytes(size, "big"))


def key_text(key: str | PrivateKey | PublicKey) -> str:
    """An HMAC secret as is, a key as PEM: what a JOSE library builds its keys from."""
    if isinstance(key, str):
        return key
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return private_pem(key)
    return public_pem(key)


def _jwk_members(public: PublicKey) -> dict[str, str]:
    """The members RFC 7518 §6 requires of a public JWK: its public numbers only."""
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
    point = public.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _int_b64(point.x, 32), "y": _int_b64(point.y, 32)}


def public_jwk(public: PublicKey, *, kid: str, algorithm: str) -> dict[str, str]:
    """The RFC 7517/7518 public JWK; built from public numbers only, so no private member."""
    return {**_jwk_members(public), "kid": kid, "alg": algorithm, "use": "sig"}


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Every key authsvc signs or verifies with, checked once, when it is built."""

    algorithm: str
    # The access-token signing key (an HMAC secret or a PEM private key) and its kid.
    signing_key: str | PrivateKey
    kid: str
    # Every key that may verify an access token, by kid: the current one first.
    verification_keys: Mapping[str, VerificationKey]
    refresh_algorithm: str
    refresh_secret: str

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """Raises: ValueError, one line naming the setting, for missing or unfit key material."""
        access = _secret(settings.access_token_secret)
        refresh = _secret(settings.refresh_token_secret)
        if refresh is None or (access is None and not settings.uses_asymmetric_keys):
            # Only settings built without validation get here: `Settings` refuses them first.
            raise ValueError("signing secrets are not configured")
        previous = settings.previous_secret_values()
        check_secrets(access, refresh, previous)
        algorithm = settings.jwt_algorithm
        signing_key: str | PrivateKey
        keys: dict[str, VerificationKey] = {}
        if settings.uses_asymmetric_keys:
            signing_key = _load_signing_key(settings)
            current = signing_key.public_key()
            kid = settings.access_token_key_id or key_id(current)
            keys[kid] = current
            for old in _load_previous_public_keys(settings):
                keys.setdefault(key_id(old), old)
            refresh_algorithm = REFRESH_ALGORITHM_WITH_PEM_KEYS
        else:
            assert access is not None  # noqa: S101 (refused above otherwise)
            signing_key, refresh_algorithm = access, algorithm
            kid = settings.access_token_key_id or hmac_key_id(access)
            keys[kid] = access
            for old_secret in previous:
                keys.setdefault(hmac_key_id(old_secret), old_secret)
        return cls(
            algorithm=algorithm,
            signing_key=signing_key,
            kid=kid,
            verification_keys=MappingProxyType(keys),
            refresh_algorithm=refresh_algorithm,
            refresh_secret=refresh,
        )

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """RFC 7517 JWK Set of the verification keys; empty with HMAC, whose keys are secret."""
        return {
            "keys": [
                public_jwk(key, kid=kid, algorithm=self.algorithm)
                for kid, key in self.verification_keys.items()
                if not isinstance(key, str)
            ]
        }


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _load_signing_key(settings: Settings) -> PrivateKey:
    inline, path = settings.access_token_private_key, settings.access_token_private_key_file
    read: Callable[[], str]
    if inline is not None:
        source, read = "ACCESS_TOKEN_PRIVATE_KEY", inline.get_secret_value
    elif path is not None:
        source, read = "ACCESS_TOKEN_PRIVATE_KEY_FILE", partial(_read_text, path)
    else:
        raise ValueError(f"JWT_ALGORITHM={settings.jwt_algorithm} needs a private key")
    try:
        return load_private_key(read(), settings.jwt_algorithm)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _load_previous_public_keys(settings: Settings) -> list[PublicKey]:
    path = settings.access_token_previous_public_keys_file
    if path is None:
        return []
    source = "ACCESS_TOKEN_PREVIOUS_PUBLIC_KEYS_FILE"
    try:
        return load_public_keys(_read_text(path), settings.jwt_algorithm)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ValueError("cannot read the file") from None
