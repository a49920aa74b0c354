"""Runtime configuration: one `Settings`, read from the environment and `.env`.

Weak setups are refused when `Settings` is built, so a misconfigured replica never starts
serving. Development mode may run without secrets: it generates throwaway ones and says so.

One module per section (server, signing, sessions, store, cookie, throttle, requests,
passwords, audit, mail, mfa, webauthn), composed in composed.py; where values come from (the
environment, `.env`, `SECRETS_DIR`) is sources.py.
"""

from authsvc.settings.composed import ManagementSettings, Settings
from authsvc.settings.cookie import HOST_COOKIE_NAME, PLAIN_COOKIE_NAME
from authsvc.settings.passwords import (
    ARGON2_MIN_MEMORY_KIB,
    ARGON2_MIN_TIME_COST,
    PASSWORD_HARD_LIMIT,
)
from authsvc.settings.signing import EXAMPLE_SECRETS

__all__ = [
    "ARGON2_MIN_MEMORY_KIB",
    "ARGON2_MIN_TIME_COST",
    "EXAMPLE_SECRETS",
    "HOST_COOKIE_NAME",
    "PASSWORD_HARD_LIMIT",
    "PLAIN_COOKIE_NAME",
    "ManagementSettings",
    "Settings",
]
