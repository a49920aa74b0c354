"""Authentication methods references (RFC 8176): how a session's user proved who they are.

A session keeps the methods it was opened with for its whole life, so every access token its
rotations issue says the same; only a new login can change them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "HWK",
    "MFA",
    "OTP",
    "PWD",
    "SWK",
    "decode_amr",
    "encode_amr",
    "is_multi_factor",
    "methods",
]

# RFC 8176 method names, not secrets.
PWD: Final = "pwd"  # noqa: S105
OTP: Final = "otp"
HWK: Final = "hwk"
SWK: Final = "swk"
MFA: Final = "mfa"

_KNOWN: Final = frozenset({PWD, OTP, HWK, SWK, MFA})


def methods(*used: str, factors: int | None = None) -> tuple[str, ...]:
    """The `amr` of a login that used `used`; `mfa` is added when it took two factors or more.

    `factors` is given when one method stands for two factors itself, as a passkey with user
    verification does (something held, plus something known or is); otherwise each method
    is one factor.

    Raises: ValueError for a method RFC 8176 does not name here.
    """
    unknown = set(used) - _KNOWN
    if unknown:
        raise ValueError(f"unknown authentication method {sorted(unknown)!r}")
    distinct = tuple(dict.fromkeys(name for name in used if name != MFA))
    count = factors if factors is not None else len(distinct)
    return (*distinct, MFA) if count >= 2 else distinct


def is_multi_factor(amr: tuple[str, ...]) -> bool:
    return MFA in amr


def encode_amr(amr: tuple[str, ...]) -> str:
    """How the store keeps it: the names in order, space-separated."""
    return " ".join(amr)


def decode_amr(stored: str | None) -> tuple[str, ...]:
    # Sessions opened before methods were recorded were all opened with a password.
    return tuple(stored.split()) if stored else (PWD,)
