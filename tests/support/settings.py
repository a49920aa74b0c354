"""The settings every test app and server runs under, and a clock tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from authsvc.settings import Settings

ACCESS_SECRET = "test-access-secret-0123456789abcdef0123456789"
REFRESH_SECRET = "test-refresh-secret-fedcba9876543210fedcba987"
# 32 bytes, base64url: the key TOTP secrets are sealed under (MFA_ENCRYPTION_KEY).
MFA_KEY = "dGVzdC1tZmEta2V5LTAxMjM0NTY3ODlhYmNkZWYwMTI"
# The Redis every development and CI machine runs (tests/requirements.py skips without it).
REDIS_URL = "redis://127.0.0.1:6379/0"
# Settings that lift every throttle: for tests that log in (or fail to) far more often than a
# person would; throttling has its own tests (tests/api/test_throttle.py).
UNTHROTTLED = {
    "throttle_per_ip": "100000/minute",
    "throttle_per_account_ip": "100000/minute",
    "throttle_per_account": "100000/minute",
    "throttle_registration_per_ip": "100000/minute",
    "throttle_forgot_per_ip": "100000/minute",
    "throttle_forgot_per_email": "100000/minute",
    "throttle_passkey_per_ip": "100000/minute",
}


class FakeClock:
    """A clock tests move by hand; starts at the real now so jose's own checks agree."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Production settings with the test secrets, on a SQLite file in `tmp_path`."""
    return _settings(f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}", overrides)


def settings_without_database(**overrides: object) -> Settings:
    """`make_settings` for what never opens its store: an app whose OpenAPI document is read,
    a TokenService. Nothing but `overrides` and these defaults, whatever the environment."""
    return _settings("sqlite+aiosqlite:///:memory:", overrides)


def _settings(database_url: str, overrides: dict[str, object]) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "access_token_secret": ACCESS_SECRET,
        "refresh_token_secret": REFRESH_SECRET,
        "mfa_encryption_key": MFA_KEY,
        "database_url": database_url,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
