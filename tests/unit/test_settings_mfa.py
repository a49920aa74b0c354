"""The second-factor settings: the sealing key in production and development."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from authsvc.settings import ManagementSettings
from tests.support.settings import MFA_KEY, make_settings


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_the_configured_key_and_previous_keys_are_decoded(tmp_path: Path) -> None:
    old = key()
    settings = make_settings(tmp_path, mfa_encryption_keys_previous=f"{old}, ")
    keys = settings.mfa_keys
    assert keys is not None
    assert keys.current == base64.urlsafe_b64decode(MFA_KEY + "=")
    assert keys.previous == (base64.urlsafe_b64decode(old),)
    assert not keys.derived
    assert MFA_KEY not in repr(settings)
    assert "current" not in repr(keys)


@pytest.mark.parametrize("value", ["", None])
def test_production_without_a_key_has_totp_off(tmp_path: Path, value: str | None) -> None:
    assert make_settings(tmp_path, mfa_encryption_key=value).mfa_keys is None


def test_development_without_a_key_derives_one_from_the_refresh_secret(tmp_path: Path) -> None:
    first = make_settings(tmp_path, environment="development", mfa_encryption_key=None)
    again = make_settings(tmp_path, environment="development", mfa_encryption_key=None)
    assert first.mfa_keys is not None and again.mfa_keys is not None
    assert first.mfa_keys.derived
    assert first.mfa_keys.current == again.mfa_keys.current
    other = make_settings(
        tmp_path,
        environment="development",
        mfa_encryption_key=None,
        refresh_token_secret="another-refresh-secret-of-enough-length-0123",
    )
    assert other.mfa_keys is not None
    assert other.mfa_keys.current != first.mfa_keys.current


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mfa_encryption_key": "too-short"}, "MFA_ENCRYPTION_KEY must be 32 random bytes"),
        ({"mfa_encryption_key": "not base64 !!"}, "MFA_ENCRYPTION_KEY must be 32 random bytes"),
        (
            {"mfa_encryption_keys_previous": "c2hvcnQ"},
            "MFA_ENCRYPTION_KEYS_PREVIOUS must be 32 random bytes",
        ),
        (
            {"mfa_encryption_key": None, "mfa_encryption_keys_previous": key()},
            "MFA_ENCRYPTION_KEYS_PREVIOUS needs MFA_ENCRYPTION_KEY",
        ),
        ({"mfa_token_ttl_seconds": 301}, "mfa_token_ttl_seconds"),
        ({"totp_issuer": "a:b"}, "totp_issuer"),
        ({"throttle_mfa_per_account": "often"}, "not a rate limit"),
    ],
)
def test_bad_values_are_refused_without_quoting_them(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(tmp_path, **overrides)
    assert message in str(refused.value)
    assert "too-short" not in str(refused.value)


def test_management_commands_read_the_key_without_signing_secrets() -> None:
    settings = ManagementSettings(_env_file=None, mfa_encryption_key=MFA_KEY)
    assert settings.mfa_keys is not None
