"""Settings for asymmetric keys and rotation: every mix-up refused at construction."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from authsvc.keys import private_pem, public_pem
from authsvc.settings import Settings
from tests.keys import private_key, private_key_pem, public_key_pem, write_public_keys
from tests.support import REFRESH_SECRET, make_settings

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


def test_key_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(private_key_pem("RS256"), encoding="utf-8")
    settings = make_settings(tmp_path, jwt_algorithm="RS256", access_token_private_key_file=path)
    assert settings.access_private_key is not None
    assert public_pem(settings.access_private_key.public_key()) == public_key_pem("RS256")


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    refused(
        tmp_path,
        "cannot read",
        jwt_algorithm="RS256",
        access_token_private_key_file=tmp_path / "absent.pem",
    )


@pytest.mark.parametrize(
    ("algorithm", "pem", "match"),
    [
        ("RS256", lambda: private_key_pem("ES256"), "RSA key of at least 2048"),
        (
            "RS256",
            lambda: private_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505 (the weak key being refused)
            "RSA key of at least 2048",
        ),
        ("ES256", lambda: private_key_pem("RS256"), "P-256"),
        ("ES256", lambda: private_pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
    ],
)
def test_key_must_fit_the_algorithm(
    tmp_path: Path, algorithm: str, pem: object, match: str
) -> None:
    assert callable(pem)
    refused(tmp_path, match, jwt_algorithm=algorithm, access_token_private_key=pem())


def test_garbage_key_is_refused_without_being_quoted(tmp_path: Path) -> None:
    junk = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n"
    message = refused(
        tmp_path, "not an unencrypted PEM", jwt_algorithm="ES256", access_token_private_key=junk
    )
    assert "c2VjcmV0" not in message


def test_public_key_given_as_private_is_refused(tmp_path: Path) -> None:
    refused(
        tmp_path,
        "not an unencrypted PEM",
        jwt_algorithm="ES256",
        access_token_private_key=public_key_pem("ES256"),
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


def test_previous_public_keys_are_parsed(tmp_path: Path) -> None:
    path = write_public_keys(
        tmp_path / "old.pem", public_key_pem("ES256", 1), "\n", public_key_pem("ES256", 2)
    )
    settings = make_settings(
        tmp_path,
        jwt_algorithm="ES256",
        access_token_private_key=private_key_pem("ES256"),
        access_token_previous_public_keys_file=path,
    )
    assert [public_pem(k) for k in settings.access_previous_public_keys] == [
        public_key_pem("ES256", 1),
        public_key_pem("ES256", 2),
    ]
    empty = write_public_keys(tmp_path / "empty.pem")
    settings = make_settings(
        tmp_path,
        jwt_algorithm="ES256",
        access_token_private_key=private_key_pem("ES256"),
        access_token_previous_public_keys_file=empty,
    )
    assert settings.access_previous_public_keys == ()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (lambda: public_key_pem("RS256"), "P-256"),
        (lambda: private_key_pem("ES256"), "only PEM public keys"),
        (lambda: public_key_pem("ES256") + "trailing junk", "only PEM public keys"),
    ],
)
def test_bad_previous_public_keys_are_refused(tmp_path: Path, content: object, match: str) -> None:
    assert callable(content)
    path = write_public_keys(tmp_path / "old.pem", content())
    refused(
        tmp_path,
        match,
        jwt_algorithm="ES256",
        access_token_private_key=private_key_pem("ES256"),
        access_token_previous_public_keys_file=path,
    )


def test_asymmetric_does_not_need_access_token_secret(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        jwt_algorithm="ES256",
        access_token_secret=None,
        access_token_private_key=private_key_pem("ES256"),
    )
    assert settings.access_private_key is not None
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


def test_private_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", REFRESH_SECRET)
    monkeypatch.setenv("JWT_ALGORITHM", "ES256")
    monkeypatch.setenv("ACCESS_TOKEN_PRIVATE_KEY", private_key_pem("ES256"))
    key = Settings().access_private_key
    assert key is not None
    assert public_pem(key.public_key()) == public_key_pem("ES256")
    assert private_key("ES256") is not key  # parsed from the PEM, not shared


@pytest.mark.parametrize("previous", ["short", REFRESH_SECRET])
def test_weak_previous_secrets_are_refused(tmp_path: Path, previous: str) -> None:
    refused(tmp_path, "ACCESS_TOKEN_PREVIOUS_SECRETS", access_token_previous_secrets=previous)


def test_key_id_override(tmp_path: Path) -> None:
    refused(tmp_path, "access_token_key_id", access_token_key_id="has spaces")
