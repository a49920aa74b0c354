"""The sealer the settings ask for, said once at startup."""

from __future__ import annotations

import logging

from authsvc.mfa.sealing import Sealer
from authsvc.settings import Settings

log = logging.getLogger("authsvc")


def build_sealer(settings: Settings, *, announce: bool = False) -> Sealer | None:
    """None when TOTP is off (production without MFA_ENCRYPTION_KEY)."""
    keys = settings.mfa_keys
    if keys is None:
        if announce:
            log.warning(
                "MFA_ENCRYPTION_KEY is not set: TOTP enrolment is switched off (the TOTP "
                "routes answer 404); accounts that hold TOTP still need a recovery code"
            )
        return None
    if keys.derived and announce:
        log.warning(
            "DEVELOPMENT MFA KEY: MFA_ENCRYPTION_KEY is not set; TOTP secrets are sealed under "
            "a key derived from REFRESH_TOKEN_SECRET and unreadable once that changes"
        )
    return Sealer(keys.current, keys.previous)
