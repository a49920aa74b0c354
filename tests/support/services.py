"""Parts of the service layer built in memory, for unit tests that assemble services by hand."""

from __future__ import annotations

from datetime import timedelta

from limits.aio.storage import MemoryStorage

from authsvc.revocation import MemoryRevocationList
from authsvc.settings import Settings
from authsvc.throttle import LoginThrottle


def memory_throttle(settings: Settings) -> LoginThrottle:
    """The login throttle under `settings`' limits, counting in this process's memory."""
    return LoginThrottle(
        MemoryStorage(),
        key=b"unit-test throttle key",
        per_ip=settings.throttle_per_ip,
        per_account_ip=settings.throttle_per_account_ip,
        per_account=settings.throttle_per_account,
        per_registration_ip=settings.throttle_registration_per_ip,
        per_mfa_account=settings.throttle_mfa_per_account,
    )


def memory_revocations(settings: Settings) -> MemoryRevocationList:
    """A revocation list that remembers as long as an access token can pass, as the app's does."""
    lifetime = settings.access_token_ttl_seconds + settings.jwt_leeway_seconds
    return MemoryRevocationList(remember_for=timedelta(seconds=lifetime))
