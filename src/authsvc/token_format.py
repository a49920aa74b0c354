"""What a token's text and times must look like, checked beside the signature.

python-jose is lenient about both: these checks make one token have exactly one spelling and
keep its times within what a `datetime` can hold.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import TypeGuard

# RFC 7515 §7.1: three unpadded base64url segments and nothing else. python-jose's decoder
# skips foreign characters, padding and unused bits, so without this one token would have
# endless accepted spellings, and anything keyed on a token's text could be sidestepped.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

# The NumericDates a datetime can hold; anything outside is not a token we issued.
_EPOCH_MIN = int(datetime.min.replace(tzinfo=UTC).timestamp())
_EPOCH_MAX = int(datetime.max.replace(tzinfo=UTC, microsecond=0).timestamp())


def is_canonical_compact(token: str) -> bool:
    if not _COMPACT_JWS.fullmatch(token):
        return False
    # Header and payload are signed as written; only the signature's spelling is free.
    signature = token.rsplit(".", 1)[1]
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == signature


def is_numeric_date(value: object) -> TypeGuard[int]:
    return type(value) is int and _EPOCH_MIN <= value <= _EPOCH_MAX
