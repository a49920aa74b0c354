"""Recovery codes: ten single-use codes handed out once when TOTP is enabled.

Each is 80 random bits, shown as four groups of four base32 letters and digits
(`ABCD-EFGH-IJKL-MNOP`). Only a SHA-256 of the account id and the normalised code is stored:
a fast hash is enough because the code is random, not chosen (2^80 guesses per code make an
offline search of a leaked table hopeless, where a password would need argon2), and the
account id in it stops a row copied to another account from working there. No server key is
involved, so rotating MFA_ENCRYPTION_KEY leaves the codes alone.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

COUNT = 10
_BYTES = 10  # 80 bits: 16 base32 characters
# Typed with or without the dashes, in any case, with spaces; the same 16 characters remain.
_NORMALISED = re.compile(r"[A-Z2-7]{16}")


def new_codes(count: int = COUNT) -> list[str]:
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(_BYTES)).decode()
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def normalise(code: str) -> str | None:
    """The code's 16 characters, or None when it cannot be a recovery code."""
    cleaned = re.sub(r"[\s-]", "", code).upper()
    return cleaned if _NORMALISED.fullmatch(cleaned) else None


def code_hash(user_id: str, code: str) -> str:
    """The stored form of a normalised code of this account."""
    return hashlib.sha256(f"{user_id}:{code}".encode()).hexdigest()
