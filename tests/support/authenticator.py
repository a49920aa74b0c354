"""A software authenticator: what a browser and a passkey hand the server, built by hand.

It answers the options the service gives with the JSON a browser's `PublicKeyCredential`
`toJSON()` yields: an EC P-256 key (from `cryptography`), clientDataJSON, authenticator data
with the UP, UV and AT flags, attestation "none", and signed assertions. Every part an
attacker could change is a keyword (origin, RP id, UV, the counter), so the refusals can be
tested one by one. CBOR is encoded with the package the service verifies with.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.encode_cbor import encode_cbor

# W3C WebAuthn §6.1 authenticator data flags.
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes(16)  # "none" attestation: the model is not told
ORIGIN = "https://authsvc.test"
RP_ID = "authsvc.test"


def b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftCredential:
    """One passkey: its key, the account handle it was created for, and its counter."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    # Incremented before each assertion; a counter-less authenticator keeps it at 0.
    sign_count: int = 0
    counts: bool = True
    transports: list[str] = field(default_factory=lambda: ["internal", "hybrid"])

    @classmethod
    def generate(cls, rp_id: str, user_handle: bytes, *, counts: bool = True) -> SoftCredential:
        """A new key pair under a random credential id."""
        return cls(
            credential_id=secrets.token_bytes(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=user_handle,
            counts=counts,
        )

    @property
    def id(self) -> str:
        return b64(self.credential_id)

    def clone(self) -> SoftCredential:
        """A copy of the key material, counter and all: what a cloned authenticator holds."""
        return copy.copy(self)

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        # RFC 9053 §7.1.1 EC2 key: kty 2, alg -7 (ES256), crv 1 (P-256), x, y.
        return encode_cbor(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    ).encode()


def _auth_data(rp_id: str, flags: int, sign_count: int, attested: bytes = b"") -> bytes:
    rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
    return rp_id_hash + bytes([flags]) + struct.pack(">I", sign_count) + attested


def _flags(*, uv: bool, up: bool = True, backed_up: bool = False) -> int:
    flags = (UP if up else 0) | (UV if uv else 0)
    return flags | (BE | BS if backed_up else 0)


def create(
    options: dict[str, Any],
    *,
    origin: str = ORIGIN,
    rp_id: str | None = None,
    uv: bool = True,
    counts: bool = True,
    backed_up: bool = False,
    reuse: SoftCredential | None = None,
) -> tuple[SoftCredential, dict[str, Any]]:
    """navigator.credentials.create() with `options` (the `publicKey` member): the new
    credential (or `reuse`'s key and id again), and the JSON the browser would send."""
    rp = rp_id or options["rp"]["id"]
    credential = reuse or SoftCredential.generate(
        rp, base64url_to_bytes(options["user"]["id"]), counts=counts
    )
    public_key = credential.cose_public_key()
    attested = AAGUID + struct.pack(">H", len(credential.credential_id))
    attested += credential.credential_id + public_key
    auth_data = _auth_data(rp, _flags(uv=uv, backed_up=backed_up) | AT, 0, attested)
    attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
    client_data = _client_data("webauthn.create", options["challenge"], origin)
    return credential, {
        "id": credential.id,
        "rawId": credential.id,
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(client_data),
            "attestationObject": b64(attestation),
            "transports": credential.transports,
        },
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
    }


def get(
    options: dict[str, Any],
    credential: SoftCredential,
    *,
    origin: str = ORIGIN,
    rp_id: str | None = None,
    uv: bool = True,
    backed_up: bool = False,
    user_handle: bytes | None = None,
) -> dict[str, Any]:
    """navigator.credentials.get() with `options`, answered by `credential`: the JSON the
    browser would send. Each call advances the credential's counter (if it keeps one)."""
    if credential.counts:
        credential.sign_count += 1
    auth_data = _auth_data(
        rp_id or credential.rp_id, _flags(uv=uv, backed_up=backed_up), credential.sign_count
    )
    client_data = _client_data("webauthn.get", options["challenge"], origin)
    signed = auth_data + hashlib.sha256(client_data).digest()
    signature = credential.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
    handle = user_handle if user_handle is not None else credential.user_handle
    return {
        "id": credential.id,
        "rawId": credential.id,
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(client_data),
            "authenticatorData": b64(auth_data),
            "signature": b64(signature),
            "userHandle": b64(handle),
        },
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
    }


def tampered(answer: dict[str, Any]) -> dict[str, Any]:
    """The same assertion with one bit of its signature flipped."""
    signature = bytearray(base64url_to_bytes(answer["response"]["signature"]))
    signature[-1] ^= 0x01
    changed = copy.deepcopy(answer)
    changed["response"]["signature"] = b64(bytes(signature))
    return changed
