"""Asymmetric test keys: generated once per run (RSA generation is slow), written on demand."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authsvc.keys import PrivateKey, private_pem, public_pem


def private_key(algorithm: str, index: int = 0) -> PrivateKey:
    """The `index`-th distinct key for `algorithm`; the same object on every call."""
    return _generate(algorithm, index)


@cache
def _generate(algorithm: str, index: int) -> PrivateKey:
    del index  # part of the cache key only
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(algorithm: str, index: int = 0) -> str:
    return private_pem(private_key(algorithm, index))


def public_key_pem(algorithm: str, index: int = 0) -> str:
    return public_pem(private_key(algorithm, index).public_key())


def write_public_keys(path: Path, *pems: str) -> Path:
    path.write_text("".join(pems), encoding="utf-8")
    return path
