"""Access tokens already verified by this process, so a repeat check skips the signature.

A gateway asks about the same token on every request its client makes, and checking an
HS256 signature and its claims with python-jose costs more than the rest of the check. The
answer only depends on the token and the time, so it is remembered until the token expires.

What is remembered is exactly what `TokenService.verify_access` returned, under a SHA-256 of
the token (a memory dump shows no bearer token; a forged token would need a collision), for as
long as `verify_access` would accept the same token again: from `iat - leeway` up to
`exp + leeway`, by the same clock. Only successful verifications are stored, so a malformed
or forged token is verified, and refused, every time. Whether the session was revoked is not
part of the entry: the caller asks the revocation list on every check.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import datetime

from authsvc.tokens import AccessClaims


class VerifiedTokenCache:
    """At most `max_entries` verified tokens, least recently used evicted first; 0 keeps none.

    Lives in one event loop and never awaits, so each method runs as one step.
    """

    def __init__(self, *, max_entries: int, leeway_seconds: int) -> None:
        self._max_entries = max_entries
        self._leeway = leeway_seconds
        # key -> (claims, valid from, valid until), both in epoch seconds
        self._entries: OrderedDict[bytes, tuple[AccessClaims, float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, *, now: datetime) -> AccessClaims | None:
        """The claims `token` was verified to carry, if it would still pass at `now`."""
        if not self._entries:
            return None
        key = _key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        claims, valid_from, valid_until = entry
        moment = now.timestamp()
        if not valid_from <= moment < valid_until:
            # Expired, or the clock went back before `iat`: verify again, which refuses it.
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return claims

    def put(self, token: str, claims: AccessClaims) -> None:
        """Remember a token `TokenService.verify_access` has just accepted."""
        if self._max_entries <= 0:
            return
        # TokenService._verify refuses `iat > now + leeway` and `exp + leeway <= now`.
        valid_from = claims.issued_at.timestamp() - self._leeway
        valid_until = claims.expires_at.timestamp() + self._leeway
        key = _key(token)
        self._entries[key] = (claims, valid_from, valid_until)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def _key(token: str) -> bytes:
    # One-to-one from any str (lone surrogates included), so no other string shares a key.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
