"""`KeyRing`: key material read and checked once, kids by RFC 7638 thumbprint, the JWKS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authsvc.app import create_app
from authsvc.keys import KeyRing, PrivateKey, PublicKey, key_id, private_pem, public_pem
from authsvc.settings import Settings
from authsvc.tokens import TokenService
from tests.support.keys import private_key, private_key_pem, public_key_pem, write_public_keys
from tests.support.settings import REFRESH_SECRET, make_settings


def refused(tmp_path: Path, match: str, **overrides: object) -> str:
    # Valid settings: the key material is what is refused, when the ring is built.
    settings = make_settings(tmp_path, **overrides)
    with pytest.raises(ValueError, match=match) as caught:
        KeyRing.from_settings(settings)
    return str(caught.value)


def signing_key(settings: Settings) -> PrivateKey:
    key = KeyRing.from_settings(settings).signing_key
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return key


def previous_keys(settings: Settings) -> list[PublicKey]:
    ring = KeyRing.from_settings(settings)
    keys = [key for kid, key in ring.verification_keys.items() if kid != ring.kid]
    assert all(isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) for key in keys)
    return keys  # type: ignore[return-value]


# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
    "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def _b64_int(text: str) -> int:
    import base64

    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_key_id_is_the_rfc7638_thumbprint() -> None:
    public = rsa.RSAPublicNumbers(e=65537, n=_b64_int(RFC7638_N)).public_key()
    assert key_id(public) == RFC7638_THUMBPRINT


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_ring_names_each_key_by_its_thumbprint(tmp_path: Path, algorithm: str) -> None:
    path = write_public_keys(tmp_path / "old.pem", public_key_pem(algorithm, 1))
    ring = KeyRing.from_settings(
        make_settings(
            tmp_path,
            jwt_algorithm=algorithm,
            access_token_private_key=private_key_pem(algorithm),
            access_token_previous_public_keys_file=path,
        )
    )
    kids = [key_id(private_key(algorithm, i).public_key()) for i in (0, 1)]
    assert ring.kid == kids[0]
    assert list(ring.verification_keys) == kids
    assert [jwk["kid"] for jwk in ring.public_jwks()["keys"]] == kids


def test_explicit_key_id_overrides_the_thumbprint(tmp_path: Path) -> None:
    ring = KeyRing.from_settings(
        make_settings(
            tmp_path,
            jwt_algorithm="ES256",
            access_token_private_key=private_key_pem("ES256"),
            access_token_key_id="legacy-kid",
        )
    )
    assert ring.kid == "legacy-kid"
    assert [jwk["kid"] for jwk in ring.public_jwks()["keys"]] == ["legacy-kid"]


def test_hmac_ring_publishes_no_key(tmp_path: Path) -> None:
    ring = KeyRing.from_settings(make_settings(tmp_path))
    assert ring.public_jwks() == {"keys": []}
    assert ring.refresh_algorithm == ring.algorithm == "HS256"


def test_create_app_refuses_a_bad_key_at_startup(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, jwt_algorithm="ES256", access_token_private_key_file=tmp_path / "absent.pem"
    )
    with pytest.raises(ValueError, match=r"^ACCESS_TOKEN_PRIVATE_KEY_FILE: cannot read the file$"):
        create_app(settings)


def test_key_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(private_key_pem("RS256"), encoding="utf-8")
    settings = make_settings(tmp_path, jwt_algorithm="RS256", access_token_private_key_file=path)
    assert public_pem(signing_key(settings).public_key()) == public_key_pem("RS256")


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
    assert [public_pem(k) for k in previous_keys(settings)] == [
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
    assert previous_keys(settings) == []


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
    assert public_pem(signing_key(settings).public_key()) == public_key_pem("ES256")
    assert not settings.has_ephemeral_secrets


def test_private_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", REFRESH_SECRET)
    monkeypatch.setenv("JWT_ALGORITHM", "ES256")
    monkeypatch.setenv("ACCESS_TOKEN_PRIVATE_KEY", private_key_pem("ES256"))
    key = signing_key(Settings())
    assert public_pem(key.public_key()) == public_key_pem("ES256")
    assert private_key("ES256") is not key  # parsed from the PEM, not shared


def test_token_service_takes_a_ring_built_once(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, jwt_algorithm="ES256", access_token_private_key=private_key_pem("ES256")
    )
    ring = KeyRing.from_settings(settings)
    shared = TokenService(settings, keys=ring)
    now = datetime.now(UTC)
    issued = shared.issue_access(
        user_id="u",
        username="alice",
        session_id="s",
        now=now,
        expires_at=now + timedelta(minutes=5),
    )
    # The same key material as a service that loads its own ring, which accepts the token.
    assert TokenService(settings).verify_access(issued.token, now=now).username == "alice"
    assert shared.access_key_id == ring.kid
    assert shared.public_jwks() == ring.public_jwks()
