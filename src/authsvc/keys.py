"""Access-token signing keys: PEM parsing, key ids and public JWKs.

Only `cryptography` lives here; `TokenService` turns these objects into python-jose keys.
Every parser checks that a key fits the one configured algorithm (RFC 8725 §3.1, §3.5):
RSA of at least 2048 bits for RS256, P-256 for ES256.
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256"})
MIN_RSA_BITS = 2048

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)


def is_asymmetric(algorithm: str) -> bool:
    return algorithm in ASYMMETRIC_ALGORITHMS


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
    """A stable kid: base64url of the first 12 bytes of SHA-256 of the DER SubjectPublicKeyInfo."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _b64url(hashlib.sha256(der).digest()[:12])


def hmac_key_id(secret: str) -> str:
    """A kid for an HMAC secret; domain-separated and truncated, so it reveals nothing usable."""
    return _b64url(hashlib.sha256(b"kid:" + secret.encode()).digest()[:9])


def _int_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return _b64url(value.to_bytes(size, "big"))


def public_jwk(public: PublicKey, *, kid: str, algorithm: str) -> dict[str, str]:
    """The RFC 7517/7518 public JWK; built from public numbers only, so no private member."""
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        members = {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
    else:
        point = public.public_numbers()
        members = {
            "kty": "EC",
            "crv": "P-256",
            "x": _int_b64(point.x, 32),
            "y": _int_b64(point.y, 32),
        }
    return {**members, "kid": kid, "alg": algorithm, "use": "sig"}
