"""Settings for asymmetric keys and rotation: which settings go together, refused at construction.

The key material itself is read and checked by `KeyRing` (tests/unit/test_keys.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from authsvc.settings import Settings
from tests.support.keys import private_key_pem
from tests.support.settings import REFRESH_SECRET, make_settings

OLD_SECRET = "old-access-secret-0123456789abcdef0123456789ab"


def refused(tmp_path: Path, match: str, **overrides: object) -> str:
    with pytest.raises(ValidationError, match=match) as caught:
        make_settings(tmp_path, **overrides)
    return str(caught.value)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_needs_a_private_key(tmp_path: Path, algorithm: str) -> None:
    refused(tmp_path, "needs exactly one of", jwt_algorithm=algorithm)


def test_inline_key_and_key_file_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(private_key_pem("ES256"), encoding="utf-8")
    refused(
        tmp_path,
        "exactly one of",
        jwt_algorithm="ES256",
        access_token_private_key=private_key_pem("ES256"),
        access_token_private_key_file=path,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"access_token_private_key": "pem"},
        {"access_token_private_key_file": "key.pem"},
        {"access_token_previous_public_keys_file": "old.pem"},
    ],
)
@pytest.mark.parametrize("algorithm", ["HS256", "HS512"])
def test_hmac_with_pem_settings_is_refused(
    tmp_path: Path, algorithm: str, overrides: dict[str, object]
) -> None:
    refused(tmp_path, "is HMAC", jwt_algorithm=algorithm, **overrides)


def test_asymmetric_with_previous_secrets_is_refused(tmp_path: Path) -> None:
    refused(
        tmp_path,
        "ACCESS_TOKEN_PREVIOUS_SECRETS must be empty",
        jwt_algorithm="RS256",
        access_token_private_key=private_key_pem("RS256"),
        access_token_previous_secrets=OLD_SECRET,
    )


def test_asymmetric_keys_leave_the_access_secret_unset(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        jwt_algorithm="ES256",
        access_token_secret=None,
        access_token_private_key=private_key_pem("ES256"),
    )
    # Nothing signs with it, so nothing is made up in its place.
    assert settings.access_token_secret is None
    assert settings.secret_values() == (None, REFRESH_SECRET)
    assert not settings.has_ephemeral_secrets


def test_refresh_secret_still_required_with_asymmetric_keys(tmp_path: Path) -> None:
    refused(
        tmp_path,
        "REFRESH_TOKEN_SECRET must be set",
        jwt_algorithm="ES256",
        refresh_token_secret=None,
        access_token_private_key=private_key_pem("ES256"),
    )


def test_previous_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    second = "second-old-secret-0123456789abcdef0123456789"
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", "a" * 40)
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", REFRESH_SECRET)
    monkeypatch.setenv("ACCESS_TOKEN_PREVIOUS_SECRETS", f" {OLD_SECRET} , {second},")
    assert Settings().previous_secret_values() == (OLD_SECRET, second)


@pytest.mark.parametrize("previous", ["short", REFRESH_SECRET])
def test_weak_previous_secrets_are_refused(tmp_path: Path, previous: str) -> None:
    refused(tmp_path, "ACCESS_TOKEN_PREVIOUS_SECRETS", access_token_previous_secrets=previous)


def test_key_id_override(tmp_path: Path) -> None:
    refused(tmp_path, "access_token_key_id", access_token_key_id="has spaces")
