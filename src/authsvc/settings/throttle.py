"""Attempt limits on logins, registrations and e-mail links (see authsvc/throttle.py)."""

from __future__ import annotations

from typing import Annotated

from limits import parse_many
from pydantic import AfterValidator, BaseModel, Field


def check_rate_limit(value: str) -> str:
    """Raises: ValueError unless `value` is in `limits` notation ("N/period;M/period")."""
    try:
        parse_many(value)
    except ValueError:
        raise ValueError(f"not a rate limit like '10/minute;100/hour': {value!r}") from None
    return value


RateLimit = Annotated[str, AfterValidator(check_rate_limit)]


class ThrottleSettings(BaseModel):
    # Failed-login throttling, in `limits` notation ("N/period;M/period"); see throttle.py.
    throttle_per_ip: RateLimit = "30/minute;300/hour"
    throttle_per_account_ip: RateLimit = "5/minute;20/hour"
    throttle_per_account: RateLimit = "10/minute"
    # Registrations per client address, whatever their outcome (a 409 says a name exists).
    throttle_registration_per_ip: RateLimit = "10/minute;50/hour"
    # IPv6 clients are counted per network of this many bits: a subscriber holds a whole /64.
    throttle_ipv6_prefix: int = Field(default=64, ge=32, le=128)
    # An address that logged into an account within this many days is not held back by the
    # per-account limit, so an attack from elsewhere does not lock the owner out.
    throttle_proven_address_days: int = Field(default=30, ge=1, le=365)
    # Requests for a new verification mail, per account.
    throttle_email_resend: RateLimit = "3/hour"
    # Password-reset requests per client address (over that: 429) and per address asked
    # about (over that: the same 202, and no mail, so the limit tells nothing about accounts).
    throttle_forgot_per_ip: RateLimit = "5/minute;20/hour"
    throttle_forgot_per_email: RateLimit = "3/hour"
    # Passkey login requests (options and verification alike) per client address: neither
    # checks a password, but each stores a challenge or verifies a signature.
    throttle_passkey_per_ip: RateLimit = "30/minute;300/hour"
