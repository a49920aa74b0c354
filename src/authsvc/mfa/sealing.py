"""Sealing TOTP secrets at rest: AES-256-GCM under MFA_ENCRYPTION_KEY, bound to their account.

A sealed value reads `v1.KID.NONCE_AND_CIPHERTEXT` (base64url): `KID` names the key that sealed
it (the first 8 bytes of SHA-256 of the key, hex), so rotation needs no guessing: the current
key seals, the previous keys (MFA_ENCRYPTION_KEYS_PREVIOUS) open what they sealed, and
`authsvc mfa reencrypt` moves every value to the current key. The user id is the associated
data, so a sealed value copied into another account's row does not open there.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12  # NIST SP 800-38D: 96-bit random nonces


class UnsealError(Exception):
    """A sealed value no configured key opens: a missing previous key, or a tampered row."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sealer:
    """Seals with the current key; opens with any key it was given."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        self._current_id = key_id(current)
        self._keys = {key_id(key): AESGCM(key) for key in (*previous, current)}
        self._current = AESGCM(current)

    def seal(self, plaintext: bytes, *, user_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, plaintext, user_id.encode())
        return f"{VERSION}.{self._current_id}.{_b64(nonce + sealed)}"

    def open(self, sealed: str, *, user_id: str) -> bytes:
        """Raises: UnsealError."""
        version, kid, body = _parts(sealed)
        cipher = self._keys.get(kid)
        if version != VERSION or cipher is None:
            raise UnsealError("no configured key opens this value")
        try:
            raw = _unb64(body)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], user_id.encode())
        except (InvalidTag, ValueError):
            raise UnsealError("the value does not open under its key") from None

    def is_current(self, sealed: str) -> bool:
        """Whether the current key sealed it (nothing for `reencrypt` to do)."""
        return _parts(sealed)[1] == self._current_id

    def reseal(self, sealed: str, *, user_id: str) -> str:
        """Raises: UnsealError."""
        return self.seal(self.open(sealed, user_id=user_id), user_id=user_id)


def _parts(sealed: str) -> tuple[str, str, str]:
    version, _, rest = sealed.partition(".")
    kid, _, body = rest.partition(".")
    return version, kid, body
