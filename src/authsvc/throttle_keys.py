"""The keys throttle counters are stored under: keyed hashes of accounts and grouped addresses.

Keys are keyed hashes under a secret-derived key, so the shared storage never holds usernames
or addresses in a form that can be checked against a guess. Each is derived only when a bucket
that needs it is counted: a login touches four of the ten kinds at most.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# What each bucket's key is made of: the account, the grouped client address, or both.
_ACCOUNT, _ADDRESS = "account", "address"
KEY_PARTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "ip": (_ADDRESS,),
        "account_ip": (_ACCOUNT, _ADDRESS),
        "account": (_ACCOUNT,),
        "proven": (_ACCOUNT, _ADDRESS),
        "register_ip": (_ADDRESS,),
        "email_resend": (_ACCOUNT,),
        "forgot_ip": (_ADDRESS,),
        "forgot_email": (_ACCOUNT,),
        "passkey_ip": (_ADDRESS,),
        "mfa": (_ACCOUNT,),
    }
)


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose, derived from a server secret so it never needs its own setting."""
    return hmac.new(secret.encode(), f"authsvc {purpose}".encode(), hashlib.sha256).digest()


def throttle_address(ip: str | None, *, ipv6_prefix: int) -> str:
    """The group an address is counted in: IPv4 as is, IPv6 by network, mapped IPv4 as IPv4."""
    if ip is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # not an address (a test client, a unix socket): count it as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))
    return str(address)


class BucketKeys:
    """The keyed hashes one attempt is counted under, each derived when first asked for."""

    __slots__ = ("_account", "_address", "_derived", "_ip", "_ipv6_prefix", "_key")

    def __init__(self, key: bytes, account: str, ip: str | None, *, ipv6_prefix: int) -> None:
        self._key = key
        self._account = account
        self._ip = ip
        self._ipv6_prefix = ipv6_prefix
        self._address: str | None = None
        self._derived: dict[str, str] = {}

    def __getitem__(self, bucket: str) -> str:
        if (derived := self._derived.get(bucket)) is None:
            parts = [
                self._account if part == _ACCOUNT else self._grouped() for part in KEY_PARTS[bucket]
            ]
            derived = self._derived[bucket] = keyed_hash(self._key, bucket, *parts)
        return derived

    def _grouped(self) -> str:
        if self._address is None:
            self._address = throttle_address(self._ip, ipv6_prefix=self._ipv6_prefix)
        return self._address


def keyed_hash(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()[:32]
